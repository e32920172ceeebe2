"""Compiled reads answer exactly as per-field execution does: the same bytes, for every role,
on hand-picked edge cases, on every query document of the suite, and on documents
generated from the schema (hypothesis-graphql); and they are really taken."""

import ast
import importlib
import os
import pkgutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    NameNode,
    ObjectTypeDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.execution.values import VariableValues
from hypothesis import HealthCheck, given, seed, settings
from hypothesis_graphql import queries as generated_queries
from starlette.applications import Starlette

import tests.api
import tests.e2e
from rma_graphql.api.compiled_fields import (
    CONTACT_FIELDS,
    FINANCIAL_RESOLUTION_FIELDS,
    LINE_FIELDS,
    RMA_ORDER_FIELDS,
    SHIPMENT_FIELDS,
)
from rma_graphql.api.compiled_plan import FallbackError, Selection, object_plan
from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.view import RmaGraphQL
from rma_graphql.domain.access import Role
from rma_graphql.service.organizations import create_client, create_organization
from tests.api.test_access import customer_input, user_token
from tests.conftest import IN_PROCESS_CLIENT, GraphQLClient, issued_token
from tests.helpers import act, create

COMPILED, FALLBACK, NONE = "compiled", "fallback", None
ALL_RMA = " ".join(RMA_ORDER_FIELDS)
ALL_LINE = " ".join(LINE_FIELDS)
ALL_RESOLUTION = " ".join(FINANCIAL_RESOLUTION_FIELDS)
ALL_SHIPMENT = " ".join(SHIPMENT_FIELDS)
ALL_CONTACT = " ".join(CONTACT_FIELDS)
CONTACTS = (
    f"sender {{ __typename {ALL_CONTACT} }} deliveryContact {{ {ALL_CONTACT} }} owner {{ {ALL_CONTACT} }}"
    f" billingContact {{ fullname country }} location {{ __typename id name type contact {{ {ALL_CONTACT} }} }}"
    " organization { __typename id name allowCustomerSignUp defaultLanguage }"
    " comments { __typename id text visibility createdAt author { __typename type id name } }"
)


def _view(app: Starlette) -> RmaGraphQL:
    return next(
        route.endpoint for route in app.routes if isinstance(getattr(route, "endpoint", None), RmaGraphQL)
    )


@dataclass
class World:
    app: Starlette
    view: RmaGraphQL
    ids: list[str]
    other_id: str
    own_id: str
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)

    async def both(
        self, role: str, query: str, variables: Any = None, **extra: Any
    ) -> tuple[str | None, Any]:
        """The answer with compiled reads and without; asserts they are the same bytes.
        Returns the compiled side's outcome (None: the document was not one to compile)."""
        http = self.clients[role]
        body = {"query": query, "variables": variables, **extra}
        plans = self.view.read_plans
        self.outcomes.clear()
        compiled = await http.post("/graphql", json=body)
        outcome = self.outcomes[-1] if self.outcomes else None
        self.view.read_plans = None
        try:
            executed = await http.post("/graphql", json=body)
        finally:
            self.view.read_plans = plans
        assert compiled.status_code == executed.status_code, (query, variables)
        assert compiled.content == executed.content, (role, query, variables, compiled.text, executed.text)
        # The fast path (api/fast_reads.py) answers with the view's headers, in its order.
        assert _headers(compiled) == _headers(executed), query
        return outcome, compiled.json()


_VARYING = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(name, "" if name in _VARYING else value) for name, value in response.headers.items()]


def _client(app: Starlette, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(app: Starlette) -> AsyncIterator[World]:
    uow = app.state.uow
    view = _view(app)
    organization_id = await create_organization(uow, "Compiled reads")
    other_organization = await create_organization(uow, "Compiled reads, another")
    endpoint = ("http://testserver", httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT))
    tokens = {
        "admin": await issued_token(app, organization_id),
        "viewer": await issued_token(app, organization_id, "view_rma_orders"),
        "none": (await _scopeless_token(app, organization_id)),
        "agent": await user_token(endpoint, app, organization_id, "agent", Role.AGENT),
        "customer": await user_token(endpoint, app, organization_id, "cust", Role.CUSTOMER),
    }
    world = World(app, view, [], "", "")
    world.clients = {role: _client(app, token) for role, token in tokens.items()}
    admin = GraphQLClient(world.clients["admin"])
    for n in range(5):
        linked = [
            {"orderId": f"EXT-{n}-{k}", "externalReference": f"R-{k}" if k else None} for k in range(n % 3)
        ]
        people = (
            {
                "owner": {"fullname": "Grace Hopper", "email": "grace@example.com", "language": "fr"},
                "billingContact": {"fullname": "Billing", "address": "1 rue X", "addressComplement": "B"},
            }
            if n == 3
            else {}
        )
        rma = await create(
            admin, comment=f"return {n}", meta={"n": n, "tags": ["a", "b"]}, linkedOrders=linked, **people
        )
        world.ids.append(rma["id"])
    await act(admin, world.ids[0], "submit")
    await act(admin, world.ids[1], "submit")
    await act(admin, world.ids[1], "accept")
    await _shipments(admin, world.ids[1])
    await _resolutions(admin, world.ids[1])
    customer = GraphQLClient(world.clients["customer"])
    create_own = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"
    world.own_id = (await customer.data(create_own, {"input": customer_input()}))["rmaOrderCreate"]["id"]
    comment = (
        "mutation($id: String!, $text: String!, $visibility: RmaCommentVisibility!) "
        "{ rmaOrderCommentAdd(id: $id, text: $text, visibility: $visibility) { id } }"
    )
    for rma_id in (world.ids[1], world.own_id):
        await admin.data(comment, {"id": rma_id, "text": "staff only", "visibility": "INTERNAL"})
        await admin.data(comment, {"id": rma_id, "text": "for the customer", "visibility": "CUSTOMER"})
    async with _client(app, await issued_token(app, other_organization)) as other:
        world.other_id = (await create(GraphQLClient(other)))["id"]
    plans = view.read_plans  # None when the suite runs with compiled reads off
    view.read_plans = ReadPlans(view.schema, world.outcomes.append)
    try:
        yield world
    finally:
        view.read_plans = plans
        for client in world.clients.values():
            await client.aclose()


async def _shipments(admin: GraphQLClient, rma_id: str) -> None:
    """Two parcels of an RMA order: one with every detail and a scan, one with a carrier only."""
    create = (
        "mutation($id: String!, $input: RmaShipmentInput!) { rmaShipmentCreate(rmaOrderId: $id, input: $input) "
        "{ id } }"
    )
    full = {
        "carrierName": "Colissimo",
        "tracking": "6A123",
        "trackingUrl": "https://track.example.com/6A123",
        "labelUrl": "https://labels.example.com/6A123.pdf",
    }
    first = (await admin.data(create, {"id": rma_id, "input": full}))["rmaShipmentCreate"]
    await admin.data(create, {"id": rma_id, "input": {"carrierName": "DHL"}})
    await admin.data(
        "mutation($id: String!) { rmaShipmentAddEvent(shipmentId: $id, input: {event: IN_TRANSIT, "
        'date: "2026-11-20T10:00:00+00:00"}) { id } }',
        {"id": first["id"]},
    )


async def _resolutions(admin: GraphQLClient, rma_id: str) -> None:
    """Two financial resolutions of an RMA order at the warehouse: one executed, one pending."""
    await act(admin, rma_id, "startFulfillment")
    lines = await admin.data("query($id: String) { rmaOrder(id: $id) { lines { id } } }", {"id": rma_id})
    line_id = lines["rmaOrder"]["lines"][0]["id"]
    await admin.data(
        "mutation($id: String!, $line: String!) { rmaOrderLineReceive(rmaOrderId: $id, lineId: $line, "
        "quantity: 2) { id } }",
        {"id": rma_id, "line": line_id},
    )
    await admin.data(
        "mutation($line: String!) { rmaOrderLineInspect(lineId: $line, input: {quantity: 2, result: ACCEPTED, "
        "disposition: SCRAP}) { id } }",
        {"line": line_id},
    )
    create = (
        "mutation($id: String!, $amount: Float) { rmaFinancialResolutionCreate(rmaOrderId: $id, "
        "input: {type: REFUND, amount: $amount}) { id } }"
    )
    paid = (await admin.data(create, {"id": rma_id, "amount": 10.5}))["rmaFinancialResolutionCreate"]
    await admin.data(
        'mutation($id: String!) { rmaFinancialResolutionExecute(id: $id, reference: "PSP-1") { id } }',
        {"id": paid["id"]},
    )
    await admin.data(create, {"id": rma_id, "amount": 5})


async def _scopeless_token(app: Starlette, organization_id: str) -> str:
    client_id, _ = await create_client(app.state.uow, organization_id, scopes=frozenset())
    issue = await app.state.accounts.token_issuer(client_id)
    token: str = issue().token
    return token


ROLES = ("admin", "viewer", "agent", "customer", "none")

BY_ID = "query($id: String) { rmaOrder(id: $id) { id processingStatus lines { sku quantity price } } }"
EVERYTHING = (
    f"query($id: String) {{ rmaOrder(id: $id) {{ __typename {ALL_RMA} {CONTACTS} lines {{ __typename {ALL_LINE} }}"
    " linkedOrders { __typename orderId externalReference }"
    f" financialResolutions {{ __typename {ALL_RESOLUTION} }} shipments {{ __typename {ALL_SHIPMENT} }} }} }}"
)
PAGE = (
    "query($first: Int = 2, $after: String, $filter: RmaOrderFilterInput, $sort: RmaOrderSort! = CREATED_AT_DESC) {"
    " rmaOrders(first: $first, after: $after, filter: $filter, sort: $sort) {"
    " __typename totalCount totalCountEstimate"
    " pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }"
    " edges { __typename cursor node { id returnNumber lines { sku lineState } } }"
    f" nodes {{ {ALL_RMA} {CONTACTS} lines {{ {ALL_LINE} }} linkedOrders {{ orderId externalReference }}"
    f" financialResolutions {{ {ALL_RESOLUTION} }} shipments {{ {ALL_SHIPMENT} }} }} }} }}"
)
# A page and one list of lines, nothing counted: one statement.
LEAN_PAGE = (
    "query($first: Int = 2, $after: String, $sort: RmaOrderSort! = CREATED_AT_DESC) {"
    " rmaOrders(first: $first, after: $after, sort: $sort) { pageInfo { hasNextPage hasPreviousPage endCursor }"
    " edges { cursor node { id returnNumber lines { sku price productState } } } } }"
)
FRAGMENTS = """
fragment Line on RmaOrderLine { sku ... on RmaOrderLine { quantity } }
fragment Rma on RmaOrderType { id ... { version } lines { ...Line } lines { reason } }
query Named($id: String) { rmaOrder(id: $id) { ...Rma returnNumber ...Rma } }
query Other { __typename }
"""
DIRECTIVES = """
query($id: String, $lines: Boolean!, $skip: Boolean = false) {
  rmaOrder(id: $id) {
    id
    lines @include(if: $lines) { sku }
    returnReference @skip(if: $skip)
    ... @include(if: $lines) { version }
  }
}
"""
ALIASES = (
    "query($a: String, $b: String) { __typename first: rmaOrder(id: $a) { ref: returnReference"
    " l: lines { s: sku q: quantity } l2: lines { id } } second: rmaOrder(id: $b) { id } }"
)


@pytest.mark.parametrize("role", ROLES)
async def test_hand_picked_documents_answer_the_same_and_take_the_plan(world: World, role: str) -> None:
    staff = role != "customer"
    seen = world.ids[1] if staff else world.own_id
    allowed = role != "none"
    expect = COMPILED if allowed else FALLBACK
    cases: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
        (BY_ID, {"id": seen}, {}, expect),
        (EVERYTHING, {"id": seen}, {}, expect),
        (FRAGMENTS, {"id": seen}, {"operationName": "Named"}, expect),
        (DIRECTIVES, {"id": seen, "lines": True}, {}, expect),
        (DIRECTIVES, {"id": seen, "lines": False, "skip": True}, {}, expect),
        (ALIASES, {"a": seen, "b": seen}, {}, expect),
        (PAGE, {}, {}, expect),
        (PAGE, {"filter": {"processingStatus": ["REQUESTED", "ACCEPTED"]}}, {}, expect),
        (PAGE, {"filter": {"search": "RMA-"}, "sort": "RETURN_NUMBER_ASC", "first": 3}, {}, expect),
        (PAGE, {"filter": {"includeDeleted": True, "createdAfter": "2020-01-01T00:00:00+00:00"}}, {}, expect),
        # Each refused or empty in its own words: strawberry's.
        (BY_ID, {"id": world.other_id}, {}, FALLBACK),  # another organization's
        (BY_ID, {"id": "00000000-0000-0000-0000-000000000000"}, {}, FALLBACK),
        (BY_ID, {"id": "not-a-uuid"}, {}, FALLBACK),
        (BY_ID, {}, {}, FALLBACK),
        (PAGE, {"first": 300}, {}, FALLBACK),
        (PAGE, {"after": "garbage"}, {}, FALLBACK),
        (PAGE, {"filter": {"locationId": "nope"}}, {}, FALLBACK),
        (DIRECTIVES, {"id": seen}, {}, FALLBACK),  # $lines is required
        (FRAGMENTS, {"id": seen}, {}, NONE),  # two operations, no name
        ("query($id: String) { rmaOrder(id: $id) { id sender { fullname } } }", {"id": seen}, {}, expect),
        ("query { rmaOrder(id: 1) { id } }", {}, {}, NONE),  # invalid
        ('mutation { rmaOrderSubmit(id: "not-a-uuid") { id } }', {}, {}, NONE),
    ]
    if staff:  # a customer's list and its own RMA order answer as the staff's do
        cases.append((BY_ID, {"id": world.own_id}, {}, expect))
    for query, variables, extra, wanted in cases:
        if wanted == COMPILED and query == BY_ID and role == "customer" and variables["id"] != world.own_id:
            wanted = FALLBACK
        outcome, body = await world.both(role, query, variables, **extra)
        assert outcome == wanted, (role, query, variables, outcome, body)
    # The page walks on with its cursor, compiled.
    _, first = await world.both(role, PAGE, {"first": 2})
    if allowed:
        cursor = first["data"]["rmaOrders"]["pageInfo"]["endCursor"]
        outcome, _ = await world.both(role, PAGE, {"first": 2, "after": cursor})
        assert outcome == COMPILED


@pytest.mark.parametrize("sort", ["CREATED_AT_DESC", "RETURN_NUMBER_ASC", "UPDATED_AT_DESC"])
@pytest.mark.parametrize("first", [0, 1, 2, 5])
async def test_pages_read_in_one_statement_walk_every_rma_order_once(
    world: World, sort: str, first: int
) -> None:
    seen: list[str] = []
    after = None
    for _ in range(12):
        outcome, body = await world.both("admin", LEAN_PAGE, {"first": first, "after": after, "sort": sort})
        assert outcome == COMPILED
        page = body["data"]["rmaOrders"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"] or first == 0:
            break
        after = page["pageInfo"]["endCursor"]
    if first:
        assert sorted(seen) == sorted([*world.ids, world.own_id])  # every RMA order of the organization
        assert len(seen) == len(set(seen))
    else:
        assert seen == []


async def test_linked_orders_come_through_the_plan_in_their_order(world: World) -> None:
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[2]})
    assert outcome == COMPILED
    assert body["data"]["rmaOrder"]["linkedOrders"] == [
        {"__typename": "RmaOrderLinkedOrder", "orderId": "EXT-2-0", "externalReference": None},
        {"__typename": "RmaOrderLinkedOrder", "orderId": "EXT-2-1", "externalReference": "R-1"},
    ]


async def test_financial_resolutions_come_through_the_plan_oldest_first(world: World) -> None:
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[1]})
    assert outcome == COMPILED
    resolutions = body["data"]["rmaOrder"]["financialResolutions"]
    assert [(r["type"], r["amount"], r["status"], r["reference"]) for r in resolutions] == [
        ("REFUND", 10.5, "EXECUTED", "PSP-1"),
        ("REFUND", 5, "PENDING", None),
    ]
    assert resolutions[0]["__typename"] == "RmaFinancialResolutionRequest"
    assert resolutions[0]["executedAt"] is not None
    # A field no plan answers (the voucher): the document runs per field, with the same answer.
    voucher = "query($id: String) { rmaOrder(id: $id) { financialResolutions { id voucher { code } } } }"
    outcome, body = await world.both("admin", voucher, {"id": world.ids[1]})
    assert outcome is NONE
    assert [r["voucher"] for r in body["data"]["rmaOrder"]["financialResolutions"]] == [None, None]


async def test_contacts_come_through_the_plan(world: World) -> None:
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[3]})
    assert outcome == COMPILED
    rma = body["data"]["rmaOrder"]
    assert (rma["sender"]["__typename"], rma["sender"]["fullname"]) == ("RmaContact", "Ada Lovelace")
    assert rma["owner"]["language"] == "fr"
    assert rma["billingContact"] == {"fullname": "Billing", "country": None}
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[0]})
    assert outcome == COMPILED
    assert (body["data"]["rmaOrder"]["owner"], body["data"]["rmaOrder"]["billingContact"]) == (None, None)
    address = "query($id: String) { rmaOrder(id: $id) { billingContact { address addressComplement } } }"
    outcome, body = await world.both("admin", address, {"id": world.ids[3]})
    assert outcome == COMPILED
    assert body["data"]["rmaOrder"]["billingContact"] == {"address": "1 rue X", "addressComplement": "B"}


async def test_comments_come_through_the_plan_and_a_customer_sees_its_public_ones(world: World) -> None:
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.own_id})
    assert outcome == COMPILED
    comments = body["data"]["rmaOrder"]["comments"]
    assert [(c["text"], c["visibility"], c["author"]["type"]) for c in comments] == [
        ("staff only", "INTERNAL", "API_CLIENT"),
        ("for the customer", "CUSTOMER", "API_CLIENT"),
    ]
    outcome, body = await world.both("customer", EVERYTHING, {"id": world.own_id})
    assert outcome == COMPILED
    assert [c["text"] for c in body["data"]["rmaOrder"]["comments"]] == ["for the customer"]
    outcome, body = await world.both("customer", PAGE, {"first": 50})
    assert outcome == COMPILED
    [own] = body["data"]["rmaOrders"]["nodes"]
    assert "staff only" not in str(own)


async def test_the_location_comes_through_the_plan(world: World) -> None:
    query = "query($id: String) { rmaOrder(id: $id) { id location { id name type } } }"
    outcome, body = await world.both("admin", query, {"id": world.ids[0]})
    assert outcome == COMPILED
    assert body["data"]["rmaOrder"]["location"]["type"] == "WAREHOUSE"
    outcome, body = await world.both("admin", PAGE, {"first": 5})
    assert outcome == COMPILED
    locations = {node["location"]["id"] for node in body["data"]["rmaOrders"]["nodes"]}
    assert len(locations) == 1  # every RMA order of the organization returns to its warehouse
    assert {node["organization"]["name"] for node in body["data"]["rmaOrders"]["nodes"]} == {"Compiled reads"}


async def test_shipments_come_through_the_plan_oldest_first(world: World) -> None:
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[1]})
    assert outcome == COMPILED
    shipments = body["data"]["rmaOrder"]["shipments"]
    assert [(s["__typename"], s["carrierName"], s["tracking"]) for s in shipments] == [
        ("RmaShipment", "Colissimo", "6A123"),
        ("RmaShipment", "DHL", None),
    ]
    assert shipments[0]["rmaOrderId"] == world.ids[1]
    outcome, body = await world.both("admin", EVERYTHING, {"id": world.ids[0]})
    assert outcome == COMPILED
    assert body["data"]["rmaOrder"]["shipments"] == []
    # A shipment's scans are not in the plans: the document runs per field, with the same answer.
    scans = (
        "query($id: String) { rmaOrder(id: $id) { shipments { carrierName state events { totalCount } } } }"
    )
    outcome, body = await world.both("admin", scans, {"id": world.ids[1]})
    assert outcome is NONE
    assert [s["state"] for s in body["data"]["rmaOrder"]["shipments"]] == ["IN_TRANSIT", None]


async def test_a_customer_sees_only_its_own_through_the_plan(world: World) -> None:
    outcome, body = await world.both("customer", PAGE, {"first": 50})
    assert outcome == COMPILED
    assert [node["id"] for node in body["data"]["rmaOrders"]["nodes"]] == [world.own_id]
    outcome, body = await world.both("customer", BY_ID, {"id": world.ids[0]})
    assert outcome == FALLBACK
    assert body["data"] == {"rmaOrder": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def _suite_documents() -> Iterator[str]:
    """Every GraphQL query document of the API and end-to-end tests: the strings their
    modules hold at module level (constants, tuples, lists, dicts, formatted ones included)
    and every string literal written anywhere in their source (inside tests too)."""
    seen: set[str] = set()

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, tuple | list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)

    found: list[str] = []
    for package in (tests.api, tests.e2e):
        for module_info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            for value in vars(module).values():
                found.extend(strings(value))
            source = Path(module.__file__ or "").read_text()
            found.extend(
                node.value
                for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
            )
    for text in found:
        if text in seen or "{" not in text:
            continue
        seen.add(text)
        try:
            document = parse(text)
        except GraphQLError:
            continue
        if any(
            isinstance(d, OperationDefinitionNode) and d.operation == OperationType.QUERY
            for d in document.definitions
        ) and not any(field in text for field in READS_THE_CLOCK):
            yield text


# Root fields whose answer moves with the clock (a window ending now by default): two runs
# a moment apart differ whichever path answers them, and no plan compiles them.
READS_THE_CLOCK = ("rmaStatistics",)


def _variables(document: DocumentNode, rma_id: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                name = variable.variable.name.value
                if name in ("id", "rmaOrderId", "rmaId"):
                    values[name] = rma_id
                elif name == "first":
                    values[name] = 2
    return values


async def test_every_query_document_of_the_suite_answers_the_same(world: World) -> None:
    documents = list(_suite_documents())
    assert len(documents) > 20
    compiled = 0
    for text in documents:
        document = parse(text)
        names = [
            d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name
        ]
        for role in ("admin", "customer"):
            rma_id = world.ids[1] if role == "admin" else world.own_id
            for name in names or [None]:
                outcome, _ = await world.both(role, text, _variables(document, rma_id), operationName=name)
                compiled += outcome == COMPILED
    assert compiled > 0


def _plannable_schema(sdl: str) -> str:
    """The schema cut down to what plans answer, so that generated documents mostly compile."""
    keep = {
        "Query": {"rmaOrder", "rmaOrders"},
        "RmaOrderType": {
            *RMA_ORDER_FIELDS,
            *("lines", "linkedOrders", "financialResolutions", "shipments"),
            *("sender", "deliveryContact", "owner", "billingContact", "location", "organization", "comments"),
        },
        "Organization": {"id", "name", "allowCustomerSignUp", "defaultLanguage"},
        "RmaComment": {"id", "text", "visibility", "createdAt", "author"},
        "RmaActor": {"type", "id", "name"},
        "RmaContact": set(CONTACT_FIELDS),
        "Location": {"id", "name", "type", "contact"},
        "RmaFinancialResolutionRequest": set(FINANCIAL_RESOLUTION_FIELDS),
        "RmaShipment": set(SHIPMENT_FIELDS),
        "RmaOrderLinkedOrder": {"orderId", "externalReference"},
        "RmaOrderLine": set(LINE_FIELDS),
        "RmaOrderConnection": {"edges", "nodes", "pageInfo", "totalCount", "totalCountEstimate"},
    }

    class Cut(Visitor):
        def enter_object_type_definition(self, node: ObjectTypeDefinitionNode, *_: Any) -> Any:
            wanted = keep.get(node.name.value)
            if wanted is None:
                return None
            return node.__class__(
                name=node.name,
                interfaces=node.interfaces,
                directives=node.directives,
                description=node.description,
                fields=tuple(f for f in node.fields or () if f.name.value in wanted),
            )

    return print_ast(visit(parse(sdl), Cut()))


def _with_real_ids(text: str, ids: list[str]) -> str:
    """The document with every rmaOrder's arguments replaced by one real id."""
    document = parse(text)
    counter = iter(range(10**6))

    class RealIds(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> Any:
            if node.name.value != "rmaOrder":
                return None
            rma_id = ids[next(counter) % len(ids)]
            return FieldNode(
                alias=node.alias,
                name=node.name,
                arguments=(ArgumentNode(name=NameNode(value="id"), value=StringValueNode(value=rma_id)),),
                directives=node.directives,
                selection_set=node.selection_set,
            )

    return print_ast(visit(document, RealIds()))


def _generated(sdl: str, fields: list[str], count: int) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=count * int(os.environ.get("RMA_GENERATED_DOCUMENTS", "1")),
        derandomize="RMA_GENERATED_SEED" not in os.environ,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(generated_queries(sdl, fields=fields))
    def collect(query: str) -> None:
        found.append(query)

    if "RMA_GENERATED_SEED" in os.environ:
        collect = seed(int(os.environ["RMA_GENERATED_SEED"]))(collect)
    collect()
    return found


async def test_generated_documents_answer_the_same_for_every_role(world: World) -> None:
    sdl = world.view.schema.as_str()
    plannable = _plannable_schema(sdl)
    documents = _generated(plannable, ["rmaOrder", "rmaOrders"], 60) + _generated(sdl, ["rmaOrder"], 15)
    assert documents
    outcomes: Counter[str | None] = Counter()
    for role in ("admin", "customer", "none"):
        ids = [world.ids[1], world.own_id, world.other_id] if role != "customer" else [world.own_id]
        for text in documents:
            outcome, _ = await world.both(role, _with_real_ids(text, ids))
            outcomes[outcome] += 1
    assert outcomes[COMPILED] >= 20, (outcomes, documents[:5])


def test_a_contact_the_plan_cannot_read_goes_to_strawberry(app: Starlette) -> None:
    """A null in a non-null contact field, or a stored contact without a name, is answered by
    strawberry's execution (which reports the error); a null where the type allows one is
    null."""
    schema = _view(app).schema._schema
    rma_type = schema.get_type("RmaOrderType")
    assert isinstance(rma_type, GraphQLObjectType)
    document = parse("{ rmaOrder(id: 1) { sender { fullname } owner { fullname } } }")
    nodes = list(_field_nodes(document, "rmaOrder"))
    plan = object_plan(schema, Selection({}, VariableValues({}, {})), "RmaOrderType", nodes)
    base = {"id": "r-1"}
    ada = {"fullname": "Ada", "email": None}

    assert plan.build({**base, "sender": ada, "owner": None}, None, ()) == {
        "sender": {"fullname": "Ada"},
        "owner": None,
    }
    with pytest.raises(FallbackError):
        plan.build({**base, "sender": None, "owner": None}, None, ())
    with pytest.raises(FallbackError):
        plan.build({**base, "sender": {"email": "nameless@example.com"}, "owner": None}, None, ())
    with pytest.raises(FallbackError):
        plan.build({**base, "sender": ada, "owner": {"fullname": None}}, None, ())


def _field_nodes(document: Any, name: str) -> Any:
    operation = document.definitions[0]
    return [node for node in operation.selection_set.selections if node.name.value == name]
