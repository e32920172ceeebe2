"""Every (processing state × action) pair over HTTP: allowed pairs move exactly as the
contract's table says; every other pair is INVALID_TRANSITION and changes nothing."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from rma_graphql.domain.rma_order import ACTIONS
from tests.conftest import GraphQLClient, shared_client
from tests.helpers import action_document, assert_invariants, create, get
from tests.unit.test_machines import SCENARIOS

# Statuses of the other dimensions after an allowed action, where the contract fixes them.
SIDE_EFFECTS: dict[tuple[str, str], dict[str, str]] = {
    ("REQUESTED", "reject"): {
        "financialStatus": "NONE",
        "deliveryStatus": "PENDING",
        "fulfillmentStatus": "PENDING",
    },
    ("NEW", "cancel"): {
        "deliveryStatus": "CANCELED",
        "fulfillmentStatus": "CANCELED",
        "financialStatus": "CANCELED",
    },
    ("ACCEPTED", "startFulfillment"): {"fulfillmentStatus": "IN_PROGRESS", "deliveryStatus": "DELIVERED"},
    ("PROCESSING", "completeProcessing"): {"fulfillmentStatus": "COMPLETE", "deliveryStatus": "DELIVERED"},
    ("PROCESSING", "flagAnomaly"): {"fulfillmentStatus": "ERROR"},
    ("ANOMALY from PROCESSING", "resolveAnomaly"): {"fulfillmentStatus": "IN_PROGRESS"},
    ("ACCEPTED", "updateDeliveryStatus"): {"deliveryStatus": "HANDLED"},
}


# One server for the 224 cases: each case makes its own RMA order.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql(database_url: str) -> AsyncIterator[GraphQLClient]:
    async with shared_client(database_url) as client:
        yield client


async def reach(gql: GraphQLClient, path: tuple[str, ...]) -> dict[str, Any]:
    rma = await create(gql)
    for step in path:
        variables: dict[str, Any] = {"id": rma["id"]}
        if step == "updateDeliveryStatus":
            variables["status"] = "HANDLED"
        rma = (await gql.data(action_document(step), variables))["result"]
    return rma


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("action", ACTIONS)
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
