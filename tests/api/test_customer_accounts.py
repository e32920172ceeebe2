"""A CUSTOMER user linked to a catalog customer: linked at sign-up by its email or by staff,
it sees that customer's orders only, returns goods from them only, and a changed link ends
the tokens it holds."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.domain.access import Role
from rma_graphql.service.accounts import create_user
from tests.api.test_catalog import CUSTOMER, ORDER, catalog, order_input
from tests.conftest import GraphQLClient
from tests.helpers import LOG_IN, bearer, in_one_minute_window, sign_up_input, snapshot

Endpoint = tuple[str, httpx.AsyncBaseTransport | None]

SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) { token user { id role customer { id name email } } }
}
"""
LINK = """
mutation($userId: String!, $customerId: String) {
  userLinkCustomer(userId: $userId, customerId: $customerId) { id customer { id } }
}
"""
ORDERS = "{ orders { totalCount nodes { id externalReference customer { id } } } }"
ORDER_BY_ID = "query($id: String!) { order(id: $id) { id } }"
ORDER_LINES = "query($id: String!) { order(id: $id) { id lines { id } } }"
RETURNABLE = "query($id: String!) { returnableItems(orderId: $id) { orderLineId returnableQuantity } }"
CREATE = """
mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id lines { sku } linkedOrders { orderId } } }
"""


def _http(endpoint: Endpoint, token: str | None = None) -> httpx.AsyncClient:
    base_url, transport = endpoint
    headers = bearer(token) if token else {}
    return httpx.AsyncClient(base_url=base_url, transport=transport, headers=headers, timeout=30)


async def _two_customers(gql: GraphQLClient) -> dict[str, Any]:
    """Ada (ada@example.com) and Alan, each with a delivered order."""
    made = await catalog(gql)
    alan = (await gql.data(CUSTOMER, {"input": {"name": "Alan Turing", "email": "alan@example.com"}}))[
        "customerCreate"
    ]
    ada_order = (await gql.data(ORDER, {"input": order_input(made["customer"]["id"])}))["orderCreate"]
    alan_order = (await gql.data(ORDER, {"input": order_input(alan["id"], externalReference="SO-2002")}))[
        "orderCreate"
    ]
    ada_order, alan_order = [
        (await gql.data(ORDER_LINES, {"id": o["id"]}))["order"] for o in (ada_order, alan_order)
    ]
    return {"ada": made["customer"], "alan": alan, "ada_order": ada_order, "alan_order": alan_order}


def _return_of(order: dict[str, Any]) -> dict[str, Any]:
    line = order["lines"][0]
    return {
        "sender": {"fullname": "Ada Lovelace", "email": "ada@example.com"},
        "deliveryContact": {"fullname": "Warehouse", "city": "Lyon"},
        "expectedResolution": "REFUND",
        "lines": [{"orderLineId": line["id"], "quantity": 1, "reason": "SIZE_PROBLEM"}],
    }


async def test_a_customer_signing_up_with_a_customers_email_sees_that_customers_orders_only(
    endpoint: Endpoint, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await _two_customers(gql)
    async with _http(endpoint) as anonymous:
        # The catalog has ADA@example.com as ada@example.com: the case does not matter.
        signed = (
            await anonymous.post(
                "/graphql",
                json={
                    "query": SIGN_UP,
                    "variables": {"input": sign_up_input(organization_id, email="ADA@example.com")},
                },
            )
        ).json()["data"]["signUp"]
    assert signed["user"]["role"] == "CUSTOMER"
    assert signed["user"]["customer"] == {
        "id": made["ada"]["id"],
        "name": "Ada Lovelace",
        "email": "ada@example.com",
    }

    async with _http(endpoint, signed["token"]) as http:
        ada = GraphQLClient(http)
        orders = (await ada.data(ORDERS))["orders"]
        assert orders["totalCount"] == 1
        assert [(o["id"], o["customer"]["id"]) for o in orders["nodes"]] == [
            (made["ada_order"]["id"], made["ada"]["id"])
        ]
        # Filtering by another customer does not widen what it sees.
        other = await ada.data(
            "query($c: String!) { orders(filter: {customerId: $c}) { totalCount } }",
            {"c": made["alan"]["id"]},
        )
        assert other["orders"]["totalCount"] == 0
        assert (await ada.data(ORDER_BY_ID, {"id": made["ada_order"]["id"]}))["order"]["id"] == made[
            "ada_order"
        ]["id"]
        error = await ada.error(ORDER_BY_ID, {"id": made["alan_order"]["id"]})
        assert error["extensions"]["code"] == "NOT_FOUND"

        own = (await ada.data(RETURNABLE, {"id": made["ada_order"]["id"]}))["returnableItems"]
        assert sorted(item["returnableQuantity"] for item in own) == [1, 2]
        error = await ada.error(RETURNABLE, {"id": made["alan_order"]["id"]})
        assert error["extensions"]["code"] == "NOT_FOUND"

        # A return of another customer's order is refused as an unknown line, and changes nothing.
        before = await snapshot(engine, organization_id)
        error = await ada.error(CREATE, {"input": _return_of(made["alan_order"])})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines[0].orderLineId"}
        assert error["message"] == f"Unknown order line {made['alan_order']['lines'][0]['id']}."
        linked = {**_return_of(made["ada_order"]), "linkedOrders": [{"orderId": made["alan_order"]["id"]}]}
        error = await ada.error(CREATE, {"input": linked})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.linkedOrders"}
        assert await snapshot(engine, organization_id) == before

        created = (await ada.data(CREATE, {"input": _return_of(made["ada_order"])}))["rmaOrderCreate"]
        assert created["linkedOrders"] == [{"orderId": made["ada_order"]["id"]}]
        assert created["lines"] == [{"sku": "SHIRT-M"}]


async def test_an_unlinked_customer_sees_no_order_until_staff_link_it(
    endpoint: Endpoint, app: Starlette, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await _two_customers(gql)
    async with _http(endpoint) as anonymous:
        answer = await anonymous.post(
            "/graphql",
            json={
                "query": SIGN_UP,
                "variables": {"input": sign_up_input(organization_id, email="someone@example.com")},
            },
        )
    signed = answer.json()["data"]["signUp"]
    assert signed["user"]["customer"] is None
    user_id = signed["user"]["id"]

    async with _http(endpoint, signed["token"]) as http:
        customer = GraphQLClient(http)
        assert (await customer.data(ORDERS))["orders"] == {"totalCount": 0, "nodes": []}
        assert (await customer.error(RETURNABLE, {"id": made["alan_order"]["id"]}))["extensions"]["code"] == (
            "NOT_FOUND"
        )
        # A customer may not link itself.
        error = await customer.error(LINK, {"userId": user_id, "customerId": made["alan"]["id"]})
        assert error["extensions"] == {"code": "FORBIDDEN", "requiredScope": "edit_customers"}

        # Refusals name their cause and change nothing.
        before = await snapshot(engine, organization_id)
        unknown = "9f0c6a8e-0000-4000-8000-000000000000"
        error = await gql.error(LINK, {"userId": user_id, "customerId": unknown})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "customerId"}
        error = await gql.error(LINK, {"userId": unknown, "customerId": made["alan"]["id"]})
        assert error["extensions"] == {"code": "NOT_FOUND", "id": unknown}
        agent = await create_user(
            app.state.uow,
            organization_id=organization_id,
            username=f"agent-{organization_id[:8]}",
            email="agent@example.com",
            password_hash="x",
            role=Role.AGENT,
        )
        before = await snapshot(engine, organization_id)
        error = await gql.error(LINK, {"userId": agent["id"], "customerId": made["alan"]["id"]})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "userId"}
        assert await snapshot(engine, organization_id) == before

        linked = (await gql.data(LINK, {"userId": user_id, "customerId": made["alan"]["id"]}))[
            "userLinkCustomer"
        ]
        assert linked == {"id": user_id, "customer": {"id": made["alan"]["id"]}}
        # The token named no customer: it ends, and the user logs in again.
        assert (await http.post("/graphql", json={"query": ORDERS})).status_code == 401

    async with _http(endpoint) as anonymous:
        logged = await anonymous.post(
            "/graphql",
            json={
                "query": LOG_IN,
                "variables": {
                    "username": sign_up_input(organization_id)["username"],
                    "password": "correct horse",
                },
            },
        )
    token = logged.json()["data"]["logIn"]["token"]
    async with _http(endpoint, token) as http:
        orders = (await GraphQLClient(http).data(ORDERS))["orders"]
    assert [o["id"] for o in orders["nodes"]] == [made["alan_order"]["id"]]

    # Unlinked again: nothing.
    await gql.data(LINK, {"userId": user_id, "customerId": None})
    async with _http(endpoint, token) as http:
        assert (await http.post("/graphql", json={"query": ORDERS})).status_code == 401


async def test_staff_see_a_users_customer_and_a_customer_sees_no_one_elses(
    endpoint: Endpoint, gql: GraphQLClient, organization_id: str
) -> None:
    made = await _two_customers(gql)
    async with _http(endpoint) as anonymous:
        signed = (
            await anonymous.post(
                "/graphql", json={"query": SIGN_UP, "variables": {"input": sign_up_input(organization_id)}}
            )
        ).json()["data"]["signUp"]
    linked = await gql.data(LINK, {"userId": signed["user"]["id"], "customerId": made["ada"]["id"]})
    assert linked["userLinkCustomer"]["customer"] == {"id": made["ada"]["id"]}
    async with _http(endpoint, signed["token"]) as http:
        # The same link as before: its token still stands, and it reads no customer list.
        customer = GraphQLClient(http)
        assert (await customer.data(ORDERS))["orders"]["totalCount"] == 1
        error = await customer.error("{ customers { totalCount } }")
        assert error["extensions"] == {"code": "FORBIDDEN", "requiredScope": "view_customers"}


LOOKUP = """
mutation($org: String!, $ref: String!, $email: String!) {
  portalOrderLookup(organizationId: $org, orderReference: $ref, email: $email) { token expiresIn orderId }
}
"""
RMAS = "{ rmaOrders { totalCount nodes { id } } }"


async def _lookup(http: httpx.AsyncClient, organization_id: str, ref: str, email: str) -> dict[str, Any]:
    variables = {"org": organization_id, "ref": ref, "email": email}
    response = await http.post("/graphql", json={"query": LOOKUP, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_guest_finds_its_order_by_reference_and_email_and_returns_from_it_only(
    endpoint: Endpoint, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await _two_customers(gql)
    # A second order of Ada's: the guest token is for the one it found only.
    other = (await gql.data(ORDER, {"input": order_input(made["ada"]["id"], externalReference="SO-3003")}))[
        "orderCreate"
    ]
    async with _http(endpoint) as anonymous:
        found = (await _lookup(anonymous, organization_id, " SO-1001 ", "ADA@Example.com"))["data"]
        wrong_email = await _lookup(anonymous, organization_id, "SO-1001", "alan@example.com")
        wrong_reference = await _lookup(anonymous, organization_id, "SO-9999", "ada@example.com")
        alan_found = (await _lookup(anonymous, organization_id, "SO-2002", "alan@example.com"))["data"]
    lookup = found["portalOrderLookup"]
    assert lookup["orderId"] == made["ada_order"]["id"]
    assert lookup["expiresIn"] == 1800
    # The same refusal whether the reference or the email is wrong.
    assert wrong_email["errors"] == wrong_reference["errors"]
    assert wrong_email["errors"][0]["message"] == "No order matches this reference and email."
    assert wrong_email["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "orderReference"}

    async with (
        _http(endpoint, lookup["token"]) as http,
        _http(endpoint, alan_found["portalOrderLookup"]["token"]) as h2,
    ):
        guest, alan = GraphQLClient(http), GraphQLClient(h2)
        viewer = (await guest.data("{ viewer { role actor { type id name } } }"))["viewer"]
        assert viewer == {
            "role": "CUSTOMER",
            "actor": {"type": "USER", "id": made["ada_order"]["id"], "name": "ADA@Example.com"},
        }
        assert [o["id"] for o in (await guest.data(ORDERS))["orders"]["nodes"]] == [made["ada_order"]["id"]]
        assert (await guest.error(ORDER_BY_ID, {"id": other["id"]}))["extensions"]["code"] == "NOT_FOUND"
        assert (await guest.error(RETURNABLE, {"id": other["id"]}))["extensions"]["code"] == "NOT_FOUND"

        before = await snapshot(engine, organization_id)
        other_lines = (await gql.data(ORDER_LINES, {"id": other["id"]}))["order"]
        error = await guest.error(CREATE, {"input": _return_of(other_lines)})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.lines[0].orderLineId"}
        assert await snapshot(engine, organization_id) == before

        created = (await guest.data(CREATE, {"input": _return_of(made["ada_order"])}))["rmaOrderCreate"]
        assert (await guest.data(RMAS))["rmaOrders"] == {"totalCount": 1, "nodes": [{"id": created["id"]}]}
        # Another guest sees neither the return nor the order.
        assert (await alan.data(RMAS))["rmaOrders"]["totalCount"] == 0
        read = await alan.error("query($id: String!) { rmaOrder(id: $id) { id } }", {"id": created["id"]})
        assert read["extensions"]["code"] == "NOT_FOUND"


async def test_lookups_are_limited_per_email_whatever_the_address(
    settings: Any, organization_id: str
) -> None:
    from tests.conftest import Server

    # An email no other test looks up: processes on PostgreSQL share their counts.
    email = f"Limit-{organization_id[:8]}@example.com"
    async with Server(settings.replace(auth_rate_limit_per_minute=3)) as server:
        answers = []
        await in_one_minute_window()
        for n in range(5):
            # Each from its own address: only the email's count can refuse.
            transport = httpx.ASGITransport(app=server.app, client=(f"198.51.100.{n + 1}", 5000))
            async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as http:
                answers.append(await _lookup(http, organization_id, "SO-0000", email))
    codes = [a["errors"][0]["extensions"].get("reason") for a in answers]
    assert codes == [None, None, None, "RATE_LIMITED", "RATE_LIMITED"]
    assert answers[3]["errors"][0]["extensions"]["field"] == "email"
    assert answers[3]["errors"][0]["message"].startswith("Too many lookups for this email")
