"""The processing machine over HTTP: for every action, one state where it is allowed (one
with side effects on other dimensions where there is one) moves exactly as the contract's
table says, and one where it is not is INVALID_TRANSITION and changes nothing. The whole
(state × action) matrix, side effects included, is in the unit tests."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from starlette.applications import Starlette

from rma_graphql.domain.rma_order import ACTIONS
from tests.conftest import GraphQLClient, app_client
from tests.helpers import action_document, assert_invariants, create, get
from tests.unit.test_machines import SCENARIOS, SIDE_EFFECTS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gql(app: Starlette) -> AsyncIterator[GraphQLClient]:
    """One organization for the module: each case makes its own RMA order."""
    async with app_client(app) as client:
        yield client


def _cases() -> Iterator[tuple[str, str]]:
    for action in ACTIONS:
        allowed_in = [name for name, (_, allowed) in SCENARIOS.items() if action in allowed]
        refused_in = [name for name, (_, allowed) in SCENARIOS.items() if action not in allowed]
        with_side_effects = [name for name in allowed_in if (name, action) in SIDE_EFFECTS]
        yield (with_side_effects or allowed_in)[0], action
        yield refused_in[-1], action


async def reach(gql: GraphQLClient, path: tuple[str, ...]) -> dict[str, Any]:
    rma = await create(gql)
    for step in path:
        variables: dict[str, Any] = {"id": rma["id"]}
        if step == "updateDeliveryStatus":
            variables["status"] = "HANDLED"
        rma = (await gql.data(action_document(step), variables))["result"]
    return rma


@pytest.mark.parametrize(("scenario", "action"), list(_cases()))
async def test_processing_matrix_over_http(gql: GraphQLClient, scenario: str, action: str) -> None:
    path, allowed = SCENARIOS[scenario]
    before = await reach(gql, path)
    variables: dict[str, Any] = {"id": before["id"]}
    if action == "updateDeliveryStatus":
        variables["status"] = "HANDLED"

    body = await gql.execute(action_document(action), variables)

    if action in allowed:
        assert "errors" not in body, body
        after = body["data"]["result"]
        assert after["processingStatus"] == allowed[action].value
        assert after["version"] == before["version"] + 1
        assert len(after["history"]) > len(before["history"])
        assert {e["version"] for e in after["history"][len(before["history"]) :]} == {after["version"]}
        for field, value in SIDE_EFFECTS.get((scenario, action), {}).items():
            assert after[field] == value, field
        assert_invariants(after)
    else:
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID_TRANSITION"
        assert error["extensions"]["action"] == action
        assert error["extensions"]["dimension"] == "PROCESSING"
        assert error["extensions"]["from"] == before["processingStatus"]
        assert sorted(a for a in error["extensions"]["allowedActions"] if a in ACTIONS) == sorted(allowed)
        assert await get(gql, before["id"]) == before
