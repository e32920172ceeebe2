"""Access control: every role and scope set against every operation, customers limited to
their own RMA orders, and organizations that never see each other."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.domain.access import Role
from rma_graphql.service.accounts import create_user
from rma_graphql.service.organizations import create_client, create_organization
from rma_graphql.service.unit_of_work import UnitOfWork
from tests.api.test_catalog import ORDER, catalog, order_input
from tests.conftest import GraphQLClient, Server
from tests.helpers import LOG_IN, bearer, create, rma_input, snapshot
from tests.ws import SubscriptionClient, live

V, C, E, P = "view_rma_orders", "create_rma_orders", "edit_rma_orders", "process_rma_orders"
VC, CC, EC = "view_rma_configurations", "create_rma_configurations", "edit_rma_configurations"
VO, EO = "view_organizations", "edit_organizations"
VP, CP, EP = "view_products", "create_products", "edit_products"
VCu, CCu, ECu = "view_customers", "create_customers", "edit_customers"
VOr, COr, EOr = "view_orders", "create_orders", "edit_orders"
EVERY_SCOPE = {V, C, E, P, VC, CC, EC, VO, EO, VP, CP, EP, VCu, CCu, ECu, VOr, COr, EOr}

# CONTRACT §8, written out independently of the code that enforces it.
ROLE_SCOPES = {
    "ADMIN": EVERY_SCOPE,
    "AGENT": {V, C, E, P, VC, VP, VCu, VOr},
    "INSPECTOR": {V, P, VP},
    "CUSTOMER": {V, C, E, VC, VOr},
}

CREATE_ID = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"

RMA_ACTIONS = {
    "rmaOrderUpdate": ('rmaOrderUpdate(id: $id, input: {comment: "x"})', E),
    "rmaOrderSubmit": ("rmaOrderSubmit(id: $id)", E),
    "rmaOrderAccept": ("rmaOrderAccept(id: $id)", E),
    "rmaOrderReject": ('rmaOrderReject(id: $id, reason: "no")', E),
    "rmaOrderCancel": ('rmaOrderCancel(id: $id, reason: "no")', E),
    "rmaOrderHold": ('rmaOrderHold(id: $id, reason: "wait")', E),
    "rmaOrderResume": ("rmaOrderResume(id: $id)", E),
    "rmaOrderFlagAnomaly": ('rmaOrderFlagAnomaly(id: $id, reason: "empty box")', E),
    "rmaOrderResolveAnomaly": ("rmaOrderResolveAnomaly(id: $id)", E),
    "rmaOrderDelete": ("rmaOrderDelete(id: $id)", E),
    "rmaOrderRequestFulfillment": ("rmaOrderRequestFulfillment(id: $id)", E),
    "rmaOrderCommentAdd": ('rmaOrderCommentAdd(id: $id, text: "note")', E),
    "rmaOrderStartFulfillment": ("rmaOrderStartFulfillment(id: $id)", P),
    "rmaOrderCompleteProcessing": ("rmaOrderCompleteProcessing(id: $id)", P),
    "rmaOrderUpdateDeliveryStatus": ("rmaOrderUpdateDeliveryStatus(id: $id, status: DELIVERING)", P),
    "rmaShipmentCreate": ('rmaShipmentCreate(rmaOrderId: $id, input: {carrierName: "UPS"})', E),
}

# name -> (document, required scope or None); $id is a staff RMA, $configurationId and
# $locationId the organization's own.
OPERATIONS: dict[str, tuple[str, str | None]] = {
    "rmaOrder": ("query($id: String) { rmaOrder(id: $id) { id } }", V),
    "rmaOrders": ("{ rmaOrders { totalCount } }", V),
    "rmaOrderEvents": ("{ rmaOrderEvents { totalCount } }", V),
    "rmaConfiguration": (
        "query($configurationId: String) { rmaConfiguration(id: $configurationId) { id } }",
        VC,
    ),
    "rmaConfigurations": ("{ rmaConfigurations { id } }", VC),
    "locations": ("{ locations { id } }", VC),
    "organization": ("{ organization { id } }", VO),
    "rmaStateMachines": ("{ rmaStateMachines { dimension } }", None),
    "viewer": ("{ viewer { scopes } }", None),
    "rmaOrderCreate": (CREATE_ID, C),
    **{
        name: (f"mutation($id: String!) {{ {field} {{ id }} }}", scope)
        for name, (field, scope) in RMA_ACTIONS.items()
    },
    "rmaConfigurationCreate": (
        "mutation($locationId: String!) { rmaConfigurationCreate(input: {locationId: $locationId, portalIsActive: true}) { id } }",
        CC,
    ),
    "rmaConfigurationUpdate": (
        "mutation($configurationId: String!) { rmaConfigurationUpdate(id: $configurationId, input: {autoAccept: false}) { id } }",
        EC,
    ),
    "locationCreate": ('mutation { locationCreate(input: {name: "Depot", type: WAREHOUSE}) { id } }', EC),
    "locationUpdate": (
        'mutation($locationId: String!) { locationUpdate(id: $locationId, input: {name: "Depot"}) { id } }',
        EC,
    ),
    "organizationUpdate": ('mutation { organizationUpdate(input: {name: "Renamed"}) { id } }', EO),
    "product": ("query($productId: String!) { product(id: $productId) { id } }", VP),
    "products": ("{ products { totalCount } }", VP),
    "sku": ('{ sku(sku: "SHIRT-M") { id } }', VP),
    "customer": ("query($customerId: String!) { customer(id: $customerId) { id } }", VCu),
    "customers": ("{ customers { totalCount } }", VCu),
    "order": ("query($orderId: String!) { order(id: $orderId) { id } }", VOr),
    "orders": ("{ orders { totalCount } }", VOr),
    "returnableItems": (
        "query($orderId: String!) { returnableItems(orderId: $orderId) { returnableQuantity } }",
        C,
    ),
    "rmaShipmentAddEvent": (
        'mutation($shipmentId: String!) { rmaShipmentAddEvent(shipmentId: $shipmentId, input: {event: IN_TRANSIT, date: "2026-11-20T10:00:00+00:00"}) { id } }',
        E,
    ),
    "apiClients": ("{ apiClients { id } }", VO),
    "users": ("{ users { id } }", VO),
    "productCreate": ('mutation { productCreate(input: {name: "Hat"}) { id } }', CP),
    "productUpdate": (
        'mutation($productId: String!) { productUpdate(id: $productId, input: {name: "Tee"}) { id } }',
        EP,
    ),
    "skuCreate": (
        'mutation($productId: String!) { skuCreate(input: {productId: $productId, sku: "NEW-SKU"}) { id } }',
        CP,
    ),
    "skuUpdate": ('mutation($skuId: String!) { skuUpdate(id: $skuId, input: {variation: "XL"}) { id } }', EP),
    "customerCreate": ('mutation { customerCreate(input: {name: "Bob"}) { id } }', CCu),
    "customerUpdate": (
        'mutation($customerId: String!) { customerUpdate(id: $customerId, input: {name: "Ada L."}) { id } }',
        ECu,
    ),
    "orderCreate": (
        'mutation { orderCreate(input: {externalReference: "SO-NEW", lines: [{sku: "SHIRT-M", quantity: 1}]}) { id } }',
        COr,
    ),
    "orderUpdate": (
        "mutation($orderId: String!) { orderUpdate(id: $orderId, input: {status: PAID, shippedAt: null, deliveredAt: null}) { id } }",
        EOr,
    ),
}

PRINCIPALS = [
    *(f"role:{role}" for role in ROLE_SCOPES),
    *(f"scope:{scope}" for scope in sorted(EVERY_SCOPE)),
    "scope:",
]


Endpoint = tuple[str, httpx.AsyncBaseTransport | None]


def _client(endpoint: Endpoint, token: str | None = None) -> httpx.AsyncClient:
    base_url, transport = endpoint
    headers = bearer(token) if token is not None else {}
    return httpx.AsyncClient(base_url=base_url, transport=transport, headers=headers, timeout=30)


async def user_token(
    endpoint: Endpoint, app: Starlette, organization_id: str, username: str, role: Role
) -> str:
    """A user of the role, created as `users create` does, logged in over HTTP (usernames are
    unique across organizations: the organization's is added)."""
    username = f"{username}-{organization_id[:8]}"
    await create_user(
        app.state.uow,
        organization_id=organization_id,
        username=username,
        email=f"{username}@example.com",
        password_hash=await app.state.accounts.hash_password("correct horse"),
        role=role,
    )
    async with _client(endpoint) as http:
        body = (
            await http.post(
                "/graphql",
                json={"query": LOG_IN, "variables": {"username": username, "password": "correct horse"}},
            )
        ).json()
    token: str = body["data"]["logIn"]["token"]
    return token


async def principal_token(
    endpoint: Endpoint, app: Starlette, organization_id: str, principal: str
) -> tuple[str, set[str]]:
    kind, _, name = principal.partition(":")
    if kind == "role":
        return await user_token(endpoint, app, organization_id, name.lower(), Role(name)), ROLE_SCOPES[name]
    client_id, secret = await create_client(
        app.state.uow, organization_id, scopes=frozenset({name} if name else set())
    )
    async with _client(endpoint) as http:
        response = await http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
    return response.json()["access_token"], {name} if name else set()


def customer_input(**overrides: Any) -> dict[str, Any]:
    """An RMA order a customer may create: no prices, no staff fields."""
    data = rma_input(**overrides)
    data["lines"] = [{k: v for k, v in line.items() if k != "price"} for line in data["lines"]]
    return data


async def _ids(gql: GraphQLClient) -> dict[str, Any]:
    data = await gql.data("{ rmaConfigurations { id locationId } }")
    configuration = data["rmaConfigurations"][0]
    made = await catalog(gql)
    order = (await gql.data(ORDER, {"input": order_input(made["customer"]["id"])}))["orderCreate"]
    shipment = await gql.data(
        "mutation($id: String!) { rmaShipmentCreate(rmaOrderId: $id, input: {}) { id } }",
        {"id": (await create(gql))["id"]},
    )
    return {
        "shipmentId": shipment["rmaShipmentCreate"]["id"],
        "configurationId": configuration["id"],
        "locationId": configuration["locationId"],
        "productId": made["product"]["id"],
        "skuId": made["skus"][0]["id"],
        "customerId": made["customer"]["id"],
        "orderId": order["id"],
    }


async def _run(http: httpx.AsyncClient, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    document = OPERATIONS[name][0]
    used = {k: v for k, v in variables.items() if f"${k}" in document}
    response = await http.post("/graphql", json={"query": document, "variables": used})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_every_operation_is_allowed_or_refused_by_scope_exactly(
    endpoint: Endpoint,
    app: Starlette,
    gql: GraphQLClient,
    organization_id: str,
    principal: str,
    engine: AsyncEngine,
) -> None:
    token, scopes = await principal_token(endpoint, app, organization_id, principal)
    variables = {"id": (await create(gql))["id"], "input": customer_input(), **await _ids(gql)}
    refused = [name for name, (_, scope) in OPERATIONS.items() if scope is not None and scope not in scopes]
    allowed = [name for name in OPERATIONS if name not in refused]
    customer = principal == "role:CUSTOMER"

    async with _client(endpoint, token) as http:
        before = await snapshot(engine, organization_id)
        refusals = {name: await _run(http, name, variables) for name in refused}
        after_refusals = await snapshot(engine, organization_id)
        answers = {name: await _run(http, name, variables) for name in allowed}

    for name, body in refusals.items():
        scope = OPERATIONS[name][1]
        assert (body["data"] or {}).get(name) is None, name
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            (f"Insufficient scope: {scope} required", {"code": "FORBIDDEN", "requiredScope": scope})
        ], name
    assert after_refusals == before
    for name, body in answers.items():
        codes = [error["extensions"]["code"] for error in body.get("errors", [])]
        if customer and (
            name in RMA_ACTIONS or name in ("rmaOrder", "rmaShipmentAddEvent", "order", "returnableItems")
        ):
            # The staff's RMA order, and another customer's order, do not exist for a customer.
            assert codes == ["NOT_FOUND"], (name, body)
        else:
            assert "FORBIDDEN" not in codes, (name, body)
            assert "NOT_FOUND" not in codes, (name, body)


COMMENT = "mutation($id: String!, $text: String!, $visibility: RmaCommentVisibility!) { rmaOrderCommentAdd(id: $id, text: $text, visibility: $visibility) { version } }"
CUSTOMER_VIEW = """
query($id: String) {
  rmaOrder(id: $id) {
    id version processingStatus
    comments { text visibility }
    history { type comment }
  }
}
"""


async def _create_as(customer: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    """An RMA order the customer creates (so it owns it)."""
    rma: dict[str, Any] = (await customer.data(CREATE_ID, {"input": customer_input(**overrides)}))[
        "rmaOrderCreate"
    ]
    return rma


async def _customer(endpoint: Endpoint, app: Starlette, organization_id: str, username: str) -> GraphQLClient:
    token = await user_token(endpoint, app, organization_id, username, Role.CUSTOMER)
    return GraphQLClient(_client(endpoint, token))


async def test_a_customer_sees_and_acts_on_its_own_rma_orders_only(
    endpoint: Endpoint, app: Starlette, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    ada = await _customer(endpoint, app, organization_id, "ada")
    bob = await _customer(endpoint, app, organization_id, "bob")
    own = await _create_as(ada)
    bobs = await _create_as(bob, externalId="B-1")
    staff = await create(gql, externalId="S-1")
    before = await snapshot(engine, organization_id)

    listed = (await ada.data("{ rmaOrders { totalCount nodes { id } } }"))["rmaOrders"]
    foreign = [
        await ada.error("query($id: String) { rmaOrder(id: $id) { id } }", {"id": bobs["id"]}),
        await ada.error("query($id: String) { rmaOrder(id: $id) { id } }", {"id": staff["id"]}),
        await ada.error('{ rmaOrder(byExternalId: {externalId: "S-1"}) { id } }'),
        await ada.error("mutation($id: String!) { rmaOrderCancel(id: $id) { id } }", {"id": bobs["id"]}),
        await ada.error("mutation($id: String!) { rmaOrderSubmit(id: $id) { id } }", {"id": staff["id"]}),
        await ada.error('{ rmaOrderEvents(rmaOrderId: "' + staff["id"] + '") { totalCount } }'),
    ]
    staff_only = [
        await ada.error("mutation($id: String!) { rmaOrderAccept(id: $id) { id } }", {"id": own["id"]}),
        await ada.error(
            'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "hi") { id } }', {"id": own["id"]}
        ),
        await ada.error(
            "mutation($id: String!) { rmaShipmentCreate(rmaOrderId: $id, input: {}) { id } }",
            {"id": own["id"]},
        ),
        await ada.error(CREATE_ID, {"input": customer_input(returnWindowOverrideReason="I was away")}),
    ]
    unchanged = await snapshot(engine, organization_id)
    feed = (await ada.data("{ rmaOrderEvents { nodes { rmaOrderId type } } }"))["rmaOrderEvents"]["nodes"]

    assert listed == {"totalCount": 1, "nodes": [{"id": own["id"]}]}
    assert [e["extensions"]["code"] for e in foreign] == ["NOT_FOUND"] * 6
    assert [(e["message"], e["extensions"]) for e in staff_only] == [
        ("A customer may not accept an RMA order.", {"code": "FORBIDDEN"}),
        ("A customer may not comment on an RMA order.", {"code": "FORBIDDEN"}),
        ("A customer may not add a shipment to an RMA order.", {"code": "FORBIDDEN"}),
        (
            "A customer may not set returnWindowOverrideReason.",
            {"code": "FORBIDDEN", "field": "input.returnWindowOverrideReason"},
        ),
    ]
    assert unchanged == before
    assert feed == [{"rmaOrderId": own["id"], "type": "CREATED"}]
    await ada.http.aclose()
    await bob.http.aclose()


async def test_a_customer_updates_while_new_submits_and_cancels(
    endpoint: Endpoint, app: Starlette, organization_id: str, engine: AsyncEngine
) -> None:
    ada = await _customer(endpoint, app, organization_id, "ada")
    rma = await _create_as(ada)

    updated = await ada.data(
        'mutation($id: String!) { rmaOrderUpdate(id: $id, input: {comment: "size M"}) { comment } }',
        {"id": rma["id"]},
    )
    submitted = await ada.data(
        "mutation($id: String!) { rmaOrderSubmit(id: $id) { processingStatus } }", {"id": rma["id"]}
    )
    before = await snapshot(engine, organization_id)
    late_update = await ada.error(
        'mutation($id: String!) { rmaOrderUpdate(id: $id, input: {comment: "L"}) { id } }', {"id": rma["id"]}
    )
    unchanged = await snapshot(engine, organization_id)
    canceled = await ada.data(
        'mutation($id: String!) { rmaOrderCancel(id: $id, reason: "kept it") { processingStatus } }',
        {"id": rma["id"]},
    )

    assert updated == {"rmaOrderUpdate": {"comment": "size M"}}
    assert submitted == {"rmaOrderSubmit": {"processingStatus": "REQUESTED"}}
    assert (
        late_update["message"] == "A customer may update an RMA order only while it is NEW; it is REQUESTED."
    )
    assert late_update["extensions"] == {"code": "FORBIDDEN"}
    assert unchanged == before
    assert canceled == {"rmaOrderCancel": {"processingStatus": "CANCELED"}}
    await ada.http.aclose()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"accept": True}, "input.accept"),
        ({"applyReturnFee": True}, "input.applyReturnFee"),
        ({"autoGenerateFinancialResolution": False}, "input.autoGenerateFinancialResolution"),
        ({"autoExecuteFinancialResolution": True}, "input.autoExecuteFinancialResolution"),
        ({"retainedAmountForShipping": 0}, "input.retainedAmountForShipping"),
        ({"lines": [{"sku": "A", "quantity": 1, "reason": "DEFECTIVE", "price": 1}]}, "input.lines[0].price"),
    ],
)
async def test_a_customer_may_not_set_staff_fields(
    endpoint: Endpoint,
    app: Starlette,
    organization_id: str,
    overrides: dict[str, Any],
    field: str,
    engine: AsyncEngine,
) -> None:
    ada = await _customer(endpoint, app, organization_id, "ada")
    rma = await _create_as(ada)
    update_input = {k: v for k, v in overrides.items() if k != "accept"}
    before = await snapshot(engine, organization_id)

    created = await ada.error(CREATE_ID, {"input": {**customer_input(), **overrides}})
    updated = (
        await ada.error(
            "mutation($id: String!, $input: RmaOrderUpdateInput!) { rmaOrderUpdate(id: $id, input: $input) { id } }",
            {"id": rma["id"], "input": update_input},
        )
        if update_input
        else None
    )

    name = field.rsplit(".", 1)[-1]
    assert (created["message"], created["extensions"]) == (
        f"A customer may not set {name}.",
        {"code": "FORBIDDEN", "field": field},
    )
    if updated is not None:
        assert updated["extensions"] == {"code": "FORBIDDEN", "field": field}
    assert await snapshot(engine, organization_id) == before
    await ada.http.aclose()


async def test_a_customer_never_sees_internal_comments_or_their_events(
    server: Server, endpoint: Endpoint, app: Starlette, gql: GraphQLClient, organization_id: str
) -> None:
    ada = await _customer(endpoint, app, organization_id, "ada")
    rma = await _create_as(ada)
    client = await SubscriptionClient.open(server.url, token=ada.token)
    await client.subscribe("subscription { rmaOrderEvents { type comment } }")
    await live(server)

    await gql.data(COMMENT, {"id": rma["id"], "text": "fraud suspected", "visibility": "INTERNAL"})
    await gql.data(COMMENT, {"id": rma["id"], "text": "label sent", "visibility": "CUSTOMER"})
    view = (await ada.data(CUSTOMER_VIEW, {"id": rma["id"]}))["rmaOrder"]
    feed = (await ada.data("{ rmaOrderEvents { nodes { type comment } } }"))["rmaOrderEvents"]["nodes"]
    staff_view = (await gql.data(CUSTOMER_VIEW, {"id": rma["id"]}))["rmaOrder"]
    received = await client.next()

    assert view["version"] == 3
    assert view["comments"] == [{"text": "label sent", "visibility": "CUSTOMER"}]
    assert view["history"] == [
        {"type": "CREATED", "comment": None},
        {"type": "COMMENT_ADDED", "comment": "label sent"},
    ]
    assert feed == view["history"]
    assert received == {"rmaOrderEvents": {"type": "COMMENT_ADDED", "comment": "label sent"}}
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    assert [c["text"] for c in staff_view["comments"]] == ["fraud suspected", "label sent"]
    await client.close()
    await ada.http.aclose()


async def test_organizations_never_see_each_other(
    server: Server, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    other_id = await create_organization(UnitOfWork(engine), "Other merchant")
    other = GraphQLClient(await server.client(other_id))
    theirs = await create(
        other, externalId="EXT-1", sender={"fullname": "Grace Hopper", "email": "grace@example.com"}
    )
    their_configuration = (await other.data("{ rmaConfigurations { id locationId } }"))["rmaConfigurations"][
        0
    ]
    ours = await create(gql, externalId="EXT-1")
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe("subscription { rmaOrderEvents { rmaOrderId } }")
    await live(server)
    before = await snapshot(engine, organization_id)

    listed = await gql.data(
        '{ rmaOrders(filter: {search: "grace", includeDeleted: true}) { totalCount } all: rmaOrders { nodes { id returnNumber } } }'
    )
    by_id = await gql.error("query($id: String) { rmaOrder(id: $id) { id } }", {"id": theirs["id"]})
    acted = await gql.error("mutation($id: String!) { rmaOrderAccept(id: $id) { id } }", {"id": theirs["id"]})
    feed_filter = await gql.error(
        "query($id: String) { rmaOrderEvents(rmaOrderId: $id) { totalCount } }", {"id": theirs["id"]}
    )
    configuration = await gql.error(
        "query($id: String) { rmaConfiguration(id: $id) { id } }", {"id": their_configuration["id"]}
    )
    located = await gql.error(
        CREATE_ID,
        {"input": rma_input(locationId=their_configuration["locationId"])},
    )
    probe = await SubscriptionClient.open(server.url, token=gql.token)
    await probe.subscribe(
        "subscription($id: String!) { rmaOrderUpdated(id: $id) { id } }", {"id": theirs["id"]}
    )
    refused = await probe.receive()
    await probe.close()
    unchanged = await snapshot(engine, organization_id)
    await other.data(
        'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "theirs") { id } }', {"id": theirs["id"]}
    )
    await gql.data(
        'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "ours") { id } }', {"id": ours["id"]}
    )
    feed = (await gql.data("{ rmaOrderEvents { nodes { rmaOrderId } } }"))["rmaOrderEvents"]["nodes"]
    configurations = await gql.data("{ rmaConfigurations { id } locations { id } }")

    assert listed["rmaOrders"]["totalCount"] == 0
    assert listed["all"]["nodes"] == [{"id": ours["id"], "returnNumber": theirs["returnNumber"]}]
    assert [e["extensions"]["code"] for e in (by_id, acted, feed_filter, configuration)] == ["NOT_FOUND"] * 4
    assert located["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.locationId"}
    refusal = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert refusal[0]["extensions"]["code"] == "NOT_FOUND"
    assert unchanged == before
    assert feed == [{"rmaOrderId": ours["id"]}] * 2
    assert their_configuration["id"] not in [c["id"] for c in configurations["rmaConfigurations"]]
    assert their_configuration["locationId"] not in [loc["id"] for loc in configurations["locations"]]
    assert await client.next() == {"rmaOrderEvents": {"rmaOrderId": ours["id"]}}
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await client.close()
    await other.http.aclose()


ACTIONS = "query($id: String!) { rmaOrder(id: $id) { availableActions { action allowed reason } } }"


async def test_available_actions_say_what_the_caller_may_not_do(
    endpoint: Endpoint, app: Starlette, gql: GraphQLClient, organization_id: str
) -> None:
    customer = await user_token(endpoint, app, organization_id, "ada", Role.CUSTOMER)
    inspector = await user_token(endpoint, app, organization_id, "ivan", Role.INSPECTOR)
    async with _client(endpoint, customer) as http:
        rma_id = (await _create_as(GraphQLClient(http)))["id"]
        await http.post(
            "/graphql",
            json={
                "query": "mutation($id: String!) { rmaOrderSubmit(id: $id) { id } }",
                "variables": {"id": rma_id},
            },
        )
        seen = (await http.post("/graphql", json={"query": ACTIONS, "variables": {"id": rma_id}})).json()
    by_customer = {
        a["action"]: (a["allowed"], a["reason"]) for a in seen["data"]["rmaOrder"]["availableActions"]
    }
    assert by_customer["cancel"] == (True, None)
    assert by_customer["accept"] == (False, "A customer may not accept an RMA order.")
    assert by_customer["submit"][0] is False  # already submitted: the machine's reason

    staff = {
        a["action"]: (a["allowed"], a["reason"])
        for a in (await gql.data(ACTIONS, {"id": rma_id}))["rmaOrder"]["availableActions"]
    }
    assert staff["accept"] == (True, None)
    await gql.data("mutation($id: String!) { rmaOrderAccept(id: $id) { id } }", {"id": rma_id})
    async with _client(endpoint, inspector) as http:
        seen = (await http.post("/graphql", json={"query": ACTIONS, "variables": {"id": rma_id}})).json()
    by_inspector = {
        a["action"]: (a["allowed"], a["reason"]) for a in seen["data"]["rmaOrder"]["availableActions"]
    }
    assert by_inspector["startFulfillment"] == (True, None)
    assert by_inspector["hold"] == (False, "Insufficient scope: edit_rma_orders required")
    # And what they say is what the server then does.
    async with _client(endpoint, inspector) as http:
        held = (
            await http.post(
                "/graphql",
                json={
                    "query": 'mutation($id: String!) { rmaOrderHold(id: $id, reason: "x") { id } }',
                    "variables": {"id": rma_id},
                },
            )
        ).json()
        started = (
            await http.post(
                "/graphql",
                json={
                    "query": "mutation($id: String!) { rmaOrderStartFulfillment(id: $id) { processingStatus } }",
                    "variables": {"id": rma_id},
                },
            )
        ).json()
    assert held["errors"][0]["extensions"] == {"code": "FORBIDDEN", "requiredScope": "edit_rma_orders"}
    assert started["data"]["rmaOrderStartFulfillment"]["processingStatus"] == "PROCESSING"
