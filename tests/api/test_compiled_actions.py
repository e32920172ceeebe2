"""Compiled actions (api/compiled_actions.py) answer exactly as strawberry's execution of the
same mutation does: the same JSON, key order included, the same errors, for every role and
on every action of the state machines; a refusal changes nothing and is strawberry's; a
change whose answer the plan cannot give at the version it wrote is answered by strawberry
from that version."""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from rma_graphql.api.compiled_actions import ActionPlans
from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.view import RmaGraphQL
from rma_graphql.domain.access import Role
from rma_graphql.domain.actions import Action
from rma_graphql.service import rma_orders as rma_service
from rma_graphql.service.organizations import create_organization
from tests.api.test_access import customer_input, user_token
from tests.api.test_compiled_reads import _client, _headers, _view
from tests.conftest import IN_PROCESS_CLIENT, GraphQLClient, issued_token
from tests.helpers import MUTATIONS, RMA_FIELDS, create

# What the read plans answer: every field but availableActions and history.
PLAIN = RMA_FIELDS.replace("availableActions { action allowed reason }", "").split("history")[0]
RICH = """
  __typename
  ...Statuses
  v: version
  lines @include(if: $withLines) { __typename sku quantity lineState }
  sender { fullname email }
  deliveryContact @skip(if: $short) { fullname city }
  financialResolutions { type amount status }
"""
FRAGMENT = (
    "fragment Statuses on RmaOrderType { processingStatus deliveryStatus financialStatus fulfillmentStatus }"
)
# Keys whose values differ between two RMA orders made alike: masked before comparing.
_VOLATILE = {
    "returnNumber",
    "returnReference",
    "executedAt",
    "fulfillmentRequestedAt",
    "createdAt",
    "updatedAt",
}
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def document(action: str, selection: str = RMA_FIELDS) -> str:
    variables = "$id: String!, $expectedVersion: Int, $withLines: Boolean = true, $short: Boolean = false"
    if action == "updateDeliveryStatus":
        variables += ", $status: RmaOrderDeliveryStatus!"
    used = (
        selection
        if "$" in selection
        else selection + " lines @include(if: $withLines) @skip(if: $short) { id }"
    )
    fragment = f" {FRAGMENT}" if "...Statuses" in selection else ""
    return f"mutation Act({variables}) {{ result: {MUTATIONS[action]} {{ {used} }} }}{fragment}"


@dataclass
class Twins:
    """Two RMA orders made alike: one changed through compiled actions, the other through
    strawberry's execution."""

    app: Starlette
    view: RmaGraphQL
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)

    async def pair(self, role: str = "admin", **overrides: Any) -> tuple[str, str]:
        gql = GraphQLClient(self.clients[role])
        if role == "customer":
            make = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"
            ids = [(await gql.data(make, {"input": customer_input()}))["rmaOrderCreate"]["id"] for _ in "ab"]
            return ids[0], ids[1]
        return (await create(gql, **overrides))["id"], (await create(gql, **overrides))["id"]

    async def both(
        self, role: str, twins: tuple[str, str], query: str, **variables: Any
    ) -> tuple[str | None, Any]:
        """Runs ``query`` on each twin, compiled and not; asserts the answers are the same
        once what differs between the twins is masked. Returns the compiled side's outcome."""
        http = self.clients[role]
        self.outcomes.clear()
        compiled = await http.post(
            "/graphql", json={"query": query, "variables": {"id": twins[0], **variables}}
        )
        outcome = self.outcomes[-1] if self.outcomes else None
        plans, self.view.action_plans = self.view.action_plans, None
        try:
            executed = await http.post(
                "/graphql", json={"query": query, "variables": {"id": twins[1], **variables}}
            )
        finally:
            self.view.action_plans = plans
        assert compiled.status_code == executed.status_code, query
        ids = await self._ids(twins)
        assert _masked(compiled.text, ids) == _masked(executed.text, {}), (
            role,
            query,
            compiled.text,
            executed.text,
        )
        assert _headers(compiled) == _headers(executed), query
        return outcome, compiled.json()

    async def _ids(self, twins: tuple[str, str]) -> dict[str, str]:
        """The ids of the first twin's rows, each with the second's in its place."""
        query = "query($id: String) { rmaOrder(id: $id) { id lines { id } financialResolutions { id } } }"
        admin = GraphQLClient(self.clients["admin"])
        first, second = [(await admin.execute(query, {"id": rma_id}))["data"]["rmaOrder"] for rma_id in twins]
        if first is None or second is None:
            return {}
        pairs = {first["id"]: second["id"]}
        for kind in ("lines", "financialResolutions"):
            pairs.update({a["id"]: b["id"] for a, b in zip(first[kind], second[kind], strict=True)})
        return pairs


def _masked(text: str, ids: dict[str, str]) -> str:
    for mine, theirs in ids.items():
        text = text.replace(mine, theirs)
    text = re.sub(r"reference [0-9a-f]+", "reference …", _INSTANT.sub("<instant>", text))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: "<varies>" if key in _VOLATILE and item is not None else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return json.dumps(walk(json.loads(text)))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def twins(app: Starlette) -> AsyncIterator[Twins]:
    uow = app.state.uow
    view = _view(app)
    organization_id = await create_organization(uow, "Compiled actions")
    endpoint = ("http://testserver", httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT))
    tokens = {
        "admin": await issued_token(app, organization_id),
        "viewer": await issued_token(app, organization_id, "view_rma_orders"),
        "editor": await issued_token(app, organization_id, "edit_rma_orders"),
        "agent": await user_token(endpoint, app, organization_id, "agent", Role.AGENT),
        "customer": await user_token(endpoint, app, organization_id, "cust", Role.CUSTOMER),
    }
    world = Twins(app, view)
    world.clients = {role: _client(app, token) for role, token in tokens.items()}
    saved = view.read_plans, view.action_plans
    view.read_plans = ReadPlans(view.schema)
    view.action_plans = ActionPlans(view.read_plans, world.outcomes.append)
    try:
        yield world
    finally:
        view.read_plans, view.action_plans = saved
        for client in world.clients.values():
            await client.aclose()


TOURS = {
    "the processing tour": [
        "submit",
        "accept",
        "updateDeliveryStatus",
        "requestFulfillment",
        "startFulfillment",
        "flagAnomaly",
        "hold",
        "resume",
        "resolveAnomaly",
        "completeProcessing",
    ],
    "rejected": ["submit", "reject"],
    "canceled": ["submit", "accept", "cancel"],
    "deleted": ["delete"],
}


def _steps(tour: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for step in tour:
        yield step, ({"status": "DELIVERED"} if step == "updateDeliveryStatus" else {})


SELECTIONS = {"plain": PLAIN, "rich": RICH, "with what plans do not read": RMA_FIELDS}


@pytest.mark.parametrize("tour", list(TOURS))
@pytest.mark.parametrize("selection", list(SELECTIONS))
async def test_every_action_answers_as_strawberry_does(twins: Twins, tour: str, selection: str) -> None:
    pair = await twins.pair(autoGenerateFinancialResolution=True, retainedAmountForShipping=5)
    outcomes = []
    for step, variables in _steps(TOURS[tour]):
        query = document(step, SELECTIONS[selection])
        outcome, answer = await twins.both("admin", pair, query, **variables, short=step == "hold")
        assert "errors" not in answer, (step, answer)
        outcomes.append(outcome)
    # Every step ran compiled (none fell back to strawberry); with a field no plan reads,
    # strawberry rebuilt each answer from the version the change wrote.
    expected = "replayed" if selection == "with what plans do not read" else "compiled"
    assert outcomes == [expected] * len(TOURS[tour])


async def test_a_refused_action_is_strawberrys_and_changes_nothing(twins: Twins) -> None:
    pair = await twins.pair()
    admin = GraphQLClient(twins.clients["admin"])
    read = f"query($id: String) {{ rmaOrder(id: $id) {{ {RMA_FIELDS} }} }}"
    before = await admin.data(read, {"id": pair[0]})

    outcome, answer = await twins.both("admin", pair, document("accept", PLAIN))

    assert outcome == "fallback"
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION"
    assert await admin.data(read, {"id": pair[0]}) == before
    # A stale expected version is refused alike, and changes nothing either.
    outcome, answer = await twins.both("admin", pair, document("submit", PLAIN), expectedVersion=7)
    assert (outcome, answer["errors"][0]["extensions"]["code"]) == ("fallback", "CONFLICT")
    assert await admin.data(read, {"id": pair[0]}) == before


@pytest.mark.parametrize("role", ["viewer", "editor", "agent", "customer"])
async def test_every_role_gets_strawberrys_answer(
    twins: Twins, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller without the field's scope is refused as strawberry refuses it (compiled
    actions leave it to strawberry); the others are answered alike, an answer the plan
    leaves to strawberry without a word in the logs."""
    caplog.set_level(logging.WARNING, logger="rma_graphql.compiled_actions")
    owner = "customer" if role == "customer" else "admin"
    pair = await twins.pair(owner)
    outcome, answer = await twins.both(role, pair, document("submit", PLAIN))
    # An editor may change but not read RMA orders: the read plan leaves its answer to strawberry.
    expected = {"viewer": "fallback", "editor": "replayed"}.get(role, "compiled")
    assert outcome == expected
    if role == "viewer":
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    else:
        assert answer["data"]["result"]["processingStatus"] == "REQUESTED"
    outcome, answer = await twins.both(role, pair, document("cancel", RICH))
    assert outcome == expected
    assert [r.getMessage() for r in caplog.records if r.name == "rma_graphql.compiled_actions"] == []


async def test_an_answer_after_a_concurrent_change_is_the_version_written(
    twins: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change that commits between the action and the read of its answer: the answer is the
    RMA order at the version the action wrote, rebuilt by strawberry."""
    pair = await twins.pair()
    admin = GraphQLClient(twins.clients["admin"])
    real = ActionPlans._answer
    uow = twins.app.state.uow

    async def after_a_hold(self: ActionPlans, context: Any, found: Any, variables: Any) -> Any:
        hold = rma_service.perform_action(uow, context.caller, variables["id"], Action.HOLD, reason="x")
        await asyncio.create_task(hold)
        return await real(self, context, found, variables)

    monkeypatch.setattr(ActionPlans, "_answer", after_a_hold)
    twins.outcomes.clear()
    answer = await admin.data(document("submit", PLAIN), {"id": pair[0]})

    assert twins.outcomes == ["replayed"]
    assert (answer["result"]["version"], answer["result"]["processingStatus"]) == (2, "REQUESTED")
    now = await admin.data(
        "query($id: String) { rmaOrder(id: $id) { version processingStatus } }", {"id": pair[0]}
    )
    assert now["rmaOrder"] == {"version": 3, "processingStatus": "ON_HOLD"}


async def test_what_compiled_actions_leave_to_strawberry(twins: Twins) -> None:
    """A dry run, a key, two root fields, an unknown id: strawberry runs them."""
    pair = await twins.pair()
    admin = GraphQLClient(twins.clients["admin"])
    dry = "mutation($id: String!) { result: rmaOrderSubmit(id: $id, dryRun: true) { version } }"
    twins.outcomes.clear()
    assert (await admin.data(dry, {"id": pair[0]}))["result"]["version"] == 2
    assert twins.outcomes == ["fallback"]

    twins.outcomes.clear()
    keyed = await twins.clients["admin"].post(
        "/graphql",
        json={"query": document("submit", PLAIN), "variables": {"id": pair[0]}},
        headers={"Idempotency-Key": "compiled-actions-1"},
    )
    assert keyed.json()["data"]["result"]["version"] == 2
    two = (
        'mutation($a: String!, $b: String!) { a: rmaOrderHold(id: $a, reason: "r") { version } '
        "b: rmaOrderSubmit(id: $b) { version } }"
    )
    assert (await admin.data(two, {"a": pair[0], "b": pair[1]})) == {"a": {"version": 3}, "b": {"version": 2}}
    assert twins.outcomes == []

    outcome, answer = await twins.both(
        "admin", ("00000000-0000-4000-8000-000000000000",) * 2, document("resume")
    )
    assert (outcome, answer["errors"][0]["extensions"]["code"]) == ("fallback", "NOT_FOUND")


async def test_an_unexpected_error_is_answered_as_strawberry_does(
    twins: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = await twins.pair()

    async def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(rma_service, "perform_action", broken)
    outcome, answer = await twins.both("admin", pair, document("submit", PLAIN))

    assert outcome == "compiled"
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert answer["errors"][0]["path"] == ["result"]
    assert "the disk is on fire" not in json.dumps(answer)
