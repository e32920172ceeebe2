"""What clients trip on and what fuzzing found: subscriptions over HTTP, the standard
introspection queries, error codes and paths, CORS refusals, bodies that are not requests,
huge amounts, NUL characters, fragment bombs and malformed websocket messages. Each
refusal names its cause and changes nothing."""

import asyncio
import logging
from pathlib import Path

import httpx
import orjson
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rma_graphql.config import Settings
from tests.conftest import GraphQLClient, Server
from tests.helpers import CREATE, LOG_IN, create, rma_input, snapshot
from tests.ws import LEGACY_WS, TRANSPORT_WS, SubscriptionClient, live

ROOT = Path(__file__).resolve().parents[2]


async def test_a_subscription_over_http_is_a_bad_request_naming_the_websocket_protocols(
    http: httpx.AsyncClient,
) -> None:
    for query in (
        "subscription { rmaOrderEvents { position } }",
        'subscription S { rmaOrderUpdated(id: "x") { id } }',
    ):
        response = await http.post("/graphql", json={"query": query})

        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_REQUEST"}
        assert "websocket" in error["message"]
        assert "graphql-transport-ws" in error["message"]
        assert "'graphql-ws'" in error["message"]


async def test_the_stock_introspection_queries_pass_and_depth_bombs_inside_them_do_not(
    http: httpx.AsyncClient,
) -> None:
    committed = (ROOT / "schema.graphql").read_text()
    stock = get_introspection_query()
    full = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    fields_bomb = '{ __type(name: "RmaOrderType") { ' + "fields { type { " * 6 + "name" + " } }" * 6 + " } }"
    of_type_bomb = '{ __type(name: "RmaOrderType") { ' + "ofType { " * 40 + "name" + " }" * 40 + " } }"

    answers = [(await http.post("/graphql", json={"query": q})).json() for q in (stock, full)]
    bombs = [(await http.post("/graphql", json={"query": q})).json() for q in (fields_bomb, of_type_bomb)]

    for answer in answers:
        assert "errors" not in answer, answer.get("errors")
        names = {t["name"] for t in answer["data"]["__schema"]["types"]}
        assert {"RmaOrderType", "Query", "Mutation", "Subscription"} <= names
        assert all(f"type {name} " in committed for name in ("RmaOrderType", "Query", "Mutation"))
    for bomb in bombs:
        assert bomb["data"] is None
        assert bomb["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
        assert "the depth limit is 12" in bomb["errors"][0]["message"]


async def test_the_sdl_is_served_without_a_token(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        response = await anonymous.get("/schema.graphql")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == (ROOT / "schema.graphql").read_text()


async def test_parse_errors_have_their_code_and_missing_inputs_name_their_full_path(
    gql: GraphQLClient,
) -> None:
    parse = await gql.error("{ rmaOrders( ")
    missing_lines = await gql.error(
        "mutation($i: RmaOrderInput!) { rmaOrderCreate(input: $i) { id } }",
        {"i": {k: v for k, v in rma_input().items() if k != "lines"}},
    )
    missing_quantity = await gql.error(
        "mutation($i: RmaOrderInput!) { rmaOrderCreate(input: $i) { id } }",
        {"i": rma_input(lines=[{"sku": "A", "reason": "DEFECTIVE"}])},
    )
    missing_literal = await gql.error(
        'mutation { rmaOrderCreate(input: {expectedResolution: REFUND, sender: {fullname: "a"}, '
        'deliveryContact: {fullname: "b"}, lines: [{sku: "x", reason: DEFECTIVE}]}) { id } }'
    )
    missing_argument = await gql.error("mutation { rmaOrderSubmit { id } }")

    assert parse["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert missing_lines["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines"}
    assert missing_quantity["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines[0].quantity"}
    assert missing_literal["extensions"]["field"] == "input.lines[0].quantity"
    assert missing_argument["extensions"]["field"] == "id"


@pytest.mark.parametrize("allowed", [(), ("https://shop.example",)])
async def test_a_preflight_from_a_foreign_origin_gets_no_cors_headers_and_one_log_line(
    settings: Settings, organization_id: str, allowed: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:

    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    caplog.set_level(logging.WARNING, logger="rma_graphql")
    async with (
        Server(settings.replace(allowed_origins=allowed)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        answers = [await http.options("/graphql", headers=preflight) for _ in range(3)]
        other = await http.options("/graphql", headers={**preflight, "Origin": "https://other.example"})

    for answer in answers:
        assert answer.status_code != 405
        assert answer.status_code < 500
        assert "access-control-allow-origin" not in answer.headers
    logged = [r.getMessage() for r in caplog.records if "RMA_ALLOWED_ORIGINS" in r.getMessage()]
    assert len([m for m in logged if "https://evil.example" in m]) == 1
    assert len([m for m in logged if "https://other.example" in m]) == 1
    assert other.status_code != 405


@pytest.mark.parametrize("body", [b"null", b"123", b'"x"', b"true", b"[1, 2]", b"{nope"])
async def test_a_body_that_is_not_a_graphql_request_is_400_with_a_message(
    http: httpx.AsyncClient, body: bytes
) -> None:
    response = await http.post("/graphql", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "JSON" in error["message"]


@pytest.mark.parametrize("amount", [1e308, 1e9 + 0.01, 1e300])
async def test_a_huge_amount_is_bad_input_on_its_field_and_changes_nothing(
    gql: GraphQLClient, amount: float, organization_id: str, engine: AsyncEngine
) -> None:
    lines = [{"sku": "SKU-RED-M", "quantity": 1, "reason": "SIZE_PROBLEM", "price": amount}]
    before = await snapshot(engine, organization_id)

    line_price = await gql.error(CREATE, {"input": rma_input(lines=lines)})
    retained = await gql.error(CREATE, {"input": rma_input(retainedAmountForShipping=amount)})

    assert line_price["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines[0].price"}
    assert "cannot exceed 1,000,000,000" in line_price["message"]
    assert retained["extensions"]["code"] == "BAD_USER_INPUT"
    assert retained["extensions"]["field"] == "input.retainedAmountForShipping"
    assert await snapshot(engine, organization_id) == before


async def test_the_largest_amount_is_accepted(gql: GraphQLClient) -> None:
    lines = [{"sku": "SKU-RED-M", "quantity": 1, "reason": "SIZE_PROBLEM", "price": 1e9}]

    rma = await create(gql, lines=lines)

    assert rma["lines"][0]["price"] == 1e9


async def test_a_nul_character_in_any_text_input_is_bad_input_and_changes_nothing(
    server: Server, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    before = await snapshot(engine, organization_id)
    as_variable = await gql.error(CREATE, {"input": rma_input(comment="a\x00b")})
    in_a_line = await gql.error(
        CREATE, {"input": rma_input(lines=[{"sku": "A\x00", "quantity": 1, "reason": "DEFECTIVE"}])}
    )
    as_literal = await gql.error(
        'mutation { locationCreate(input: {name: "a\\u0000b", type: WAREHOUSE}) { id } }'
    )
    surrogate = await gql.error(
        'mutation { locationCreate(input: {name: "a\\ud800b", type: WAREHOUSE}) { id } }'
    )
    surrogate_variable = await gql.http.post(
        "/graphql",
        content=b'{"query": "mutation($c: String) { rmaOrderCommentAdd(id: \\"x\\", text: $c) { id } }", '
        b'"variables": {"c": "a\\ud800b"}}',
        headers={"content-type": "application/json"},
    )
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        log_in = (
            await anonymous.post(
                "/graphql", json={"query": LOG_IN, "variables": {"username": "a\x00", "password": "x"}}
            )
        ).json()

    assert as_variable["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.comment"}
    assert in_a_line["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines[0].sku"}
    assert as_literal["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
    assert log_in["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "username"}
    # An unpaired surrogate never parses, as a literal or in the JSON of the variables.
    assert surrogate["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert surrogate_variable.status_code == 400
    assert "NUL" in as_variable["message"]
    assert await snapshot(engine, organization_id) == before


@pytest.mark.parametrize("levels", [20, 24, 60])
async def test_a_fragment_bomb_is_refused_by_the_field_limit(
    http: httpx.AsyncClient, levels: int, organization_id: str, engine: AsyncEngine
) -> None:
    fragments = " ".join(f"fragment F{i} on Mutation {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    bomb = (
        "mutation { ...F0 } "
        + fragments
        + f' fragment F{levels} on Mutation {{ locationCreate(input: {{name: "x", type: WAREHOUSE}}) {{ id }} }}'
    )
    before = await snapshot(engine, organization_id)

    body = (await http.post("/graphql", json={"query": bomb})).json()

    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "the field limit is 2000" in error["message"]
    assert await snapshot(engine, organization_id) == before


async def test_a_wide_document_within_the_field_limit_runs(gql: GraphQLClient) -> None:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(9))
    document = "query { ...F0 } " + fragments + " fragment F9 on Query { __typename }"

    data = await gql.data(document)

    assert data == {"__typename": "Query"}


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ([1, 2, 3], "A message must be a JSON object."),
        ({"type": 7}, "A message needs a string 'type'."),
        ("subscribe-string-payload", "must be an object"),
        ("subscribe-no-query", "needs a string 'query'"),
        ("subscribe-list-variables", "'variables' must be an object or null."),
    ],
)
async def test_a_malformed_websocket_message_closes_with_4400_and_the_reason(
    server: Server, admin_token: str, protocol: str, message: object, reason: str
) -> None:
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    shaped = {
        "subscribe-string-payload": {"id": "1", "type": kind, "payload": "{ __typename }"},
        "subscribe-no-query": {"id": "1", "type": kind, "payload": {"variables": {}}},
        "subscribe-list-variables": {
            "id": "1",
            "type": kind,
            "payload": {"query": "{ x }", "variables": [1]},
        },
    }
    client = await SubscriptionClient.open(server.url, protocol, token=admin_token)
    sent = shaped[message] if isinstance(message, str) else message
    await client.connection.send(orjson.dumps(sent).decode())

    with pytest.raises(ConnectionClosed) as closed:
        await client.receive(within=10)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert reason in closed.value.rcvd.reason


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_every_frame_the_server_sends_is_text(
    server: Server, gql: GraphQLClient, protocol: str
) -> None:
    rma = await create(gql)
    url = server.url.replace("http://", "ws://") + "/graphql"
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    frames: list[str | bytes] = []
    async with connect(url, subprotocols=[protocol]) as socket:  # type: ignore[list-item]
        await socket.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {gql.token}"}}
            ).decode()
        )
        frames.append(await asyncio.wait_for(socket.recv(), 10))
        query = "subscription($id: String!) { rmaOrderUpdated(id: $id) { version } }"
        await socket.send(
            orjson.dumps(
                {"id": "1", "type": kind, "payload": {"query": query, "variables": {"id": rma["id"]}}}
            ).decode()
        )
        # Live before the change: the subscription sends the changes committed after it started.
        await live(server)
        await gql.data(
            'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "hi") { version } }',
            {"id": rma["id"]},
        )
        async with asyncio.timeout(10):  # a missed change fails here, not at the token's expiry
            while True:
                frame = await socket.recv()
                frames.append(frame)
                if orjson.loads(frame)["type"] in ("next", "data"):
                    break
        await socket.send(
            orjson.dumps({"id": "1", "type": "complete" if protocol == TRANSPORT_WS else "stop"}).decode()
        )

    assert [type(frame) for frame in frames] == [str] * len(frames)
    assert orjson.loads(frames[0])["type"] == "connection_ack"
    assert orjson.loads(frames[-1])["payload"] == {"data": {"rmaOrderUpdated": {"version": 2}}}


async def test_the_root_redirects_to_graphiql_and_its_assets_are_compressed_and_cacheable(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        root = await anonymous.get("/")
        script = await anonymous.get("/graphiql-assets/graphiql.min.js", headers={"Accept-Encoding": "gzip"})
        again = await anonymous.get(
            "/graphiql-assets/graphiql.min.js", headers={"If-None-Match": script.headers["etag"]}
        )
        plain = await anonymous.get(
            "/graphiql-assets/graphiql.min.js", headers={"Accept-Encoding": "identity"}
        )
        outside = await anonymous.get("/graphiql-assets/..%2Fapp.py")
        missing = await anonymous.get("/graphiql-assets/nope.js")

    assert root.status_code == 307
    assert root.headers["location"] == "/graphql"
    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < len(script.content) / 3
    assert "max-age=" in script.headers["cache-control"]
    assert again.status_code == 304
    assert "content-encoding" not in plain.headers
    assert plain.content == script.content
    assert (outside.status_code, missing.status_code) == (404, 404)


async def test_aliased_pages_of_expensive_fields_are_refused_by_the_cost_limit(
    server: Server, http: httpx.AsyncClient
) -> None:
    page = "rmaOrders(first: 100) { nodes { id availableActions { action allowed reason } } }"
    bomb = "{ " + " ".join(f"a{i}: {page}" for i in range(30)) + " }"
    by_variable = "query($n: Int) { rmaOrders(first: $n) { nodes { id availableActions { action } } } }"

    refused = (await http.post("/graphql", json={"query": bomb})).json()
    big = (await http.post("/graphql", json={"query": by_variable, "variables": {"n": 100_000}})).json()
    one_page = (await http.post("/graphql", json={"query": "{ " + page + " }"})).json()
    small = (await http.post("/graphql", json={"query": by_variable, "variables": {"n": 10}})).json()

    for body in (refused, big):
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
        assert "over the cost limit of 200000" in error["message"]
    assert one_page == {"data": {"rmaOrders": {"nodes": []}}}
    assert small == {"data": {"rmaOrders": {"nodes": []}}}


def test_the_cost_estimate_counts_pages_lists_and_fragments() -> None:
    from graphql import parse

    from rma_graphql.api.limits import estimated_cost, operation_cost
    from rma_graphql.api.schema import schema

    graphql_schema = schema._schema
    page = "{ rmaOrders(first: 10) { totalCount nodes { id lines { sku } } } }"
    with_fragment = (
        "query { rmaOrders(first: 10) { nodes { ...F } } } fragment F on RmaOrderType { id lines { sku } }"
    )
    variable = "query($n: Int) { rmaOrders(first: $n) { nodes { id availableActions { action } } } }"

    # rmaOrders 1 + totalCount 1 + nodes 1 + 10 × (id 1 + lines 1 + 5 × sku 1)
    assert estimated_cost(graphql_schema, parse(page), None, None) == 73
    assert estimated_cost(graphql_schema, parse(with_fragment), None, None) == 72
    # 1 + 1 + 20 × (1 + 400 + 5 × 1), once computed and once from the cache.
    for _ in range(2):
        assert operation_cost(graphql_schema, parse(variable), None, {"n": 20}) == 2 + 20 * 406


@pytest.mark.parametrize("variables", ["notjson", "[1]", "1"])
async def test_get_variables_that_are_not_a_json_object_are_400(
    http: httpx.AsyncClient, variables: str
) -> None:
    response = await http.get("/graphql", params={"query": "{ __typename }", "variables": variables})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "GET request's variables" in error["message"]
