"""Bad input with exact field paths, transport rules of CONTRACT §1, health endpoints."""

from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.helpers import CREATE, create, rma_input


async def _count(gql: GraphQLClient) -> int:
    data = await gql.data("{ rmaOrders(filter: {includeDeleted: true}) { totalCount } }")
    return int(data["rmaOrders"]["totalCount"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lines": []}, "input.lines"),
        ({"lines": [{"sku": "A", "quantity": 0, "reason": "DEFECTIVE"}]}, "input.lines[0].quantity"),
        (
            {
                "lines": [
                    {"sku": "A", "quantity": 1, "reason": "DEFECTIVE"},
                    {"sku": "B", "quantity": -2, "reason": "DEFECTIVE"},
                ]
            },
            "input.lines[1].quantity",
        ),
        (
            {"lines": [{"sku": "A", "quantity": 1, "reason": "DEFECTIVE", "price": -1}]},
            "input.lines[0].price",
        ),
        ({"retainedAmountForShipping": -0.01}, "input.retainedAmountForShipping"),
        ({"locationId": "00000000-0000-4000-8000-000000000000"}, "input.locationId"),
        ({"locationId": "not-a-uuid"}, "input.locationId"),
        ({"id": "not-a-uuid"}, "input.id"),
        ({"currency": "XXY"}, "input.currency"),
        ({"sender": {"fullname": ""}}, "input.sender.fullname"),
        ({"comment": "x" * 5001}, "input.comment"),
        ({"lines": [{"sku": "A", "quantity": 1, "reason": "NOT_A_REASON"}]}, "input.lines[0].reason"),
        ({"applyReturnFee": True, "currency": "USD"}, "input.currency"),
    ],
)
async def test_bad_create_input_names_the_field_and_changes_nothing(
    gql: GraphQLClient, overrides: dict[str, Any], field: str
) -> None:
    error = await gql.error(CREATE, {"input": rma_input(**overrides)})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert error["message"]
    assert await _count(gql) == 0


async def test_duplicate_external_id_returns_the_existing_id(gql: GraphQLClient) -> None:
    first = await create(gql, externalId="RET-1", tpAppId="shop")

    error = await gql.error(CREATE, {"input": rma_input(externalId="RET-1", tpAppId="shop")})
    other_app = await create(gql, externalId="RET-1", tpAppId="other")

    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "input.externalId",
        "existingId": first["id"],
    }
    assert other_app["returnNumber"] == first["returnNumber"] + 1
    assert await _count(gql) == 2


async def test_both_id_and_external_id_is_bad_input(gql: GraphQLClient) -> None:
    rma = await create(gql, externalId="E")

    error = await gql.error(
        "query($id: String, $b: RmaOrderByExternalIdInput) { rmaOrder(id: $id, byExternalId: $b) { id } }",
        {"id": rma["id"], "b": {"externalId": "E"}},
    )
    neither = await gql.error("{ rmaOrder { id } }")

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "id"
    assert neither["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_uuid_is_bad_input_not_not_found(gql: GraphQLClient) -> None:
    query_error = await gql.error("query($id: String) { rmaOrder(id: $id) { id } }", {"id": "123"})
    mutation_error = await gql.error(
        "mutation($id: String!) { rmaOrderSubmit(id: $id) { id } }", {"id": "nope"}
    )

    assert query_error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert mutation_error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_first_above_250_is_bad_input(gql: GraphQLClient) -> None:
    error = await gql.error("{ rmaOrders(first: 251) { totalCount } }")
    cursor_error = await gql.error('{ rmaOrders(after: "garbage") { totalCount } }')

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    assert cursor_error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_configuration_rules(gql: GraphQLClient) -> None:
    location = (
        await gql.data(
            'mutation { locationCreate(input: {name: "Paris store", type: INTERNAL}) { id name type } }'
        )
    )["locationCreate"]
    document = "mutation($input: RmaConfigurationCreateInput!) { rmaConfigurationCreate(input: $input) { id locationId acceptMulti autoAccept currency returnFee retainedAmountForShipping reasonLines } }"

    without_configuration = await gql.error(CREATE, {"input": rma_input(locationId=location["id"])})
    created = (
        await gql.data(
            document,
            {
                "input": {
                    "locationId": location["id"],
                    "portalIsActive": True,
                    "returnFee": 3.5,
                    "reasonLines": ["DEFECTIVE"],
                }
            },
        )
    )["rmaConfigurationCreate"]
    second = await gql.error(document, {"input": {"locationId": location["id"], "portalIsActive": False}})
    unknown = await gql.error(
        document, {"input": {"locationId": "00000000-0000-4000-8000-000000000000", "portalIsActive": False}}
    )
    by_location = (
        await gql.data("query($l: String) { rmaConfiguration(locationId: $l) { id } }", {"l": location["id"]})
    )["rmaConfiguration"]
    # The location takes DEFECTIVE returns only (its reasonLines).
    rma = await create(
        gql,
        locationId=location["id"],
        lines=[{"sku": "SKU-1", "quantity": 1, "reason": "DEFECTIVE", "price": 10}],
    )

    assert without_configuration["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.locationId"}
    assert (
        created["acceptMulti"],
        created["autoAccept"],
        created["currency"],
        created["returnFee"],
        created["retainedAmountForShipping"],
    ) == (True, False, "EUR", 3.5, 0.0)
    assert created["reasonLines"] == ["DEFECTIVE"]
    assert second["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.locationId"}
    assert unknown["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.locationId"}
    assert by_location == {"id": created["id"]}
    assert rma["returnNumber"] == 1001
    locations = (await gql.data("{ locations { name type } }"))["locations"]
    assert locations == [
        {"name": "Main warehouse", "type": "WAREHOUSE"},
        {"name": "Paris store", "type": "INTERNAL"},
    ]


async def test_filters_search_sort_and_pagination(gql: GraphQLClient) -> None:
    created = [
        await create(
            gql, sender={"fullname": f"Zoë Müller {i}", "email": f"c{i}@shop.example"}, externalId=f"EXT-{i}"
        )
        for i in range(5)
    ]
    await gql.data("mutation($id: String!) { rmaOrderSubmit(id: $id) { id } }", {"id": created[0]["id"]})

    pages: list[str] = []
    after = None
    while True:
        data = (
            await gql.data(
                "query($after: String) { rmaOrders(first: 2, after: $after, sort: RETURN_NUMBER_ASC) { edges { cursor node { returnNumber } } pageInfo { hasNextPage endCursor } totalCount } }",
                {"after": after},
            )
        )["rmaOrders"]
        pages += [edge["node"]["returnNumber"] for edge in data["edges"]]
        assert data["totalCount"] == 5
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    requested = (await gql.data("{ rmaOrders(filter: {processingStatus: [REQUESTED]}) { nodes { id } } }"))[
        "rmaOrders"
    ]["nodes"]
    searched = (await gql.data('{ rmaOrders(filter: {search: "zoë MÜLLER 3"}) { nodes { id } } }'))[
        "rmaOrders"
    ]["nodes"]
    by_sku = (await gql.data('{ rmaOrders(filter: {search: "sku-blue"}) { totalCount } }'))["rmaOrders"][
        "totalCount"
    ]
    by_reference = (
        await gql.data(
            "query($s: String) { rmaOrders(filter: {search: $s}) { nodes { id } } }",
            {"s": created[2]["returnReference"].lower()},
        )
    )["rmaOrders"]["nodes"]
    wildcard = (await gql.data('{ rmaOrders(filter: {search: "%"}) { totalCount } }'))["rmaOrders"][
        "totalCount"
    ]
    newest_first = (await gql.data("{ rmaOrders { nodes { returnNumber } } }"))["rmaOrders"]["nodes"]

    assert pages == [1001, 1002, 1003, 1004, 1005]
    assert requested == [{"id": created[0]["id"]}]
    assert searched == [{"id": created[3]["id"]}]
    assert by_sku == 5
    assert by_reference == [{"id": created[2]["id"]}]
    assert wildcard == 0
    assert [n["returnNumber"] for n in newest_first] == [1005, 1004, 1003, 1002, 1001]


async def test_syntax_and_validation_errors_are_http_200(http: httpx.AsyncClient) -> None:
    parse = await http.post("/graphql", json={"query": "{ rmaOrders( "})
    unknown_field = await http.post("/graphql", json={"query": "{ nope }"})

    assert parse.status_code == 200
    assert parse.json()["data"] is None
    assert unknown_field.status_code == 200
    assert unknown_field.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_not_json_and_missing_query_are_400_and_big_bodies_413(http: httpx.AsyncClient) -> None:
    not_json = await http.post("/graphql", content=b"{nope", headers={"content-type": "application/json"})
    no_query = await http.post("/graphql", json={"variables": {}})
    too_big = await http.post(
        "/graphql", json={"query": "{ locations { id } }", "variables": {"x": "a" * (1024 * 1024)}}
    )

    assert not_json.status_code == 400
    assert no_query.status_code == 400
    assert too_big.status_code == 413


async def test_query_limits_refuse_before_execution(http: httpx.AsyncClient) -> None:
    aliases = "{ " + " ".join(f"a{i}: locations {{ id }}" for i in range(31)) + " }"
    tokens = "{ " + " ".join(["__typename"] * 5001) + " }"

    alias_response = (await http.post("/graphql", json={"query": aliases})).json()
    token_response = (await http.post("/graphql", json={"query": tokens})).json()

    assert alias_response["data"] is None
    assert "aliases" in alias_response["errors"][0]["message"]
    assert token_response["data"] is None
    assert "token" in token_response["errors"][0]["message"].lower()


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    ready = await http.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


async def test_graphiql_is_served_with_local_assets(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    script = await http.get("/graphiql-assets/graphiql.min.js")

    assert page.status_code == 200
    assert "unpkg.com" not in page.text
    assert "/graphiql-assets/graphiql.min.js" in page.text
    assert script.status_code == 200
    assert len(script.content) > 1_000_000
