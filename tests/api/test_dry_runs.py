"""Dry runs: every check runs and the answer is what the real call then gives (its statuses,
version, history, amounts, available actions), and nothing at all is written."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_returns import line, shop
from tests.api.test_warehouse import FIELDS, INSPECT, RECEIVE, processing
from tests.conftest import GraphQLClient
from tests.helpers import MUTATIONS, RMA_FIELDS, act, create, snapshot

# Values a dry run may give as placeholders: generated ids, timestamps and codes.
PLACEHOLDERS = {"fulfillmentRequestedAt", "executedAt", "id", "code", "returnSlipUrl"}


def comparable(value: Any) -> Any:
    """An answer without the values a dry run only stands in for."""
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items() if key not in PLACEHOLDERS}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def dry_document(action: str) -> str:
    call = MUTATIONS[action].replace("expectedVersion: $expectedVersion", "dryRun: $dryRun")
    variables = "$id: String!, $dryRun: Boolean!"
    if action == "updateDeliveryStatus":
        variables += ", $status: RmaOrderDeliveryStatus!"
    return f"mutation Act({variables}) {{ result: {call} {{ {RMA_FIELDS} }} }}"


async def dry_then_real(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str, rma_id: str, action: str, **variables: Any
) -> dict[str, Any]:
    """The action dry, then for real: the same answer, and the dry run changed nothing."""
    before = await snapshot(engine, organization_id)
    document = dry_document(action)
    dry = (await gql.data(document, {"id": rma_id, "dryRun": True, **variables}))["result"]
    assert await snapshot(engine, organization_id) == before
    real = (await gql.data(document, {"id": rma_id, "dryRun": False, **variables}))["result"]
    assert comparable(dry) == comparable(real)
    assert await snapshot(engine, organization_id) != before
    result: dict[str, Any] = real
    return result


async def test_each_action_dry_equals_the_real_one(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str
) -> None:
    rma = await create(gql)
    steps = ["submit", "hold", "resume", "accept", "updateDeliveryStatus", "requestFulfillment"]
    steps += ["startFulfillment", "flagAnomaly", "resolveAnomaly"]
    for action in steps:
        extra = {"status": "HANDLED"} if action == "updateDeliveryStatus" else {}
        rma = await dry_then_real(gql, engine, organization_id, rma["id"], action, **extra)
        # The dry run's history ends with the event the change records, at its next version.
        assert rma["history"][-1]["version"] == rma["version"]
    other = await create(gql)
    await dry_then_real(gql, engine, organization_id, other["id"], "cancel")


@pytest.mark.parametrize("action", ["accept", "completeProcessing", "delete"])
async def test_a_refused_dry_run_is_the_same_refusal(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str, action: str
) -> None:
    rma = await create(gql)
    if action == "delete":
        await act(gql, rma["id"], "submit")
    before = await snapshot(engine, organization_id)
    document = dry_document(action)
    dry = await gql.error(document, {"id": rma["id"], "dryRun": True})
    assert await snapshot(engine, organization_id) == before
    real = await gql.error(document, {"id": rma["id"], "dryRun": False})
    assert dry == real
    assert dry["extensions"]["code"] in ("INVALID_TRANSITION", "FORBIDDEN", "CONFLICT")
    assert await snapshot(engine, organization_id) == before


DRY_RECEIVE = RECEIVE.replace("Int!, $serials", "Int!, $dry: Boolean, $serials").replace(
    "serialNumbers: $serials)", "serialNumbers: $serials, dryRun: $dry)"
)
DRY_INSPECT = INSPECT.replace(
    "$input: RmaLineInspectionInput!)", "$input: RmaLineInspectionInput!, $dry: Boolean)"
)
DRY_INSPECT = DRY_INSPECT.replace("input: $input)", "input: $input, dryRun: $dry)")
RESOLVE = """
mutation($id: String!, $type: RmaFinancialResolutionType!, $dry: Boolean) {
  rmaFinancialResolutionCreate(rmaOrderId: $id, input: {type: $type}, dryRun: $dry) {
    id type amount status provider rmaOrder { financialStatus remainingDue version }
  }
}"""
EXECUTE = """
mutation($id: String!, $dry: Boolean) {
  rmaFinancialResolutionExecute(id: $id, dryRun: $dry) {
    id status voucher { code amount status } rmaOrder { financialStatus executedAmount remainingDue version
      history { type version } }
  }
}"""
COMPLETE = f"mutation($id: String!, $dry: Boolean) {{ rmaOrderCompleteProcessing(id: $id, dryRun: $dry) {{ {FIELDS} }} }}"


async def twice(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    before = await snapshot(engine, organization_id)
    dry = await gql.data(document, {**variables, "dry": True})
    assert await snapshot(engine, organization_id) == before
    real = await gql.data(document, {**variables, "dry": False})
    assert comparable(dry) == comparable(real)
    result: dict[str, Any] = next(iter(real.values()))
    return result


async def test_the_warehouse_and_money_dry(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str
) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 2), expectedResolution="VOUCHER")
    line_id = rma["lines"][0]["id"]
    rma = await twice(
        gql, engine, organization_id, DRY_RECEIVE, {"id": rma["id"], "line": line_id, "quantity": 2}
    )
    assert rma["lines"][0]["receivedQuantity"] == 2
    inspection = {"quantity": 2, "result": "ACCEPTED", "disposition": "RESTOCK", "notes": "ok"}
    # A restock moves stock: the dry run moves none (the snapshot holds the stock rows).
    rma = await twice(gql, engine, organization_id, DRY_INSPECT, {"line": line_id, "input": inspection})
    assert rma["lines"][0]["restockedQuantity"] == 2
    resolution = await twice(gql, engine, organization_id, RESOLVE, {"id": rma["id"], "type": "VOUCHER"})
    assert resolution["status"] == "PENDING"
    # A voucher is issued with a code: the dry run issues none.
    paid = await twice(gql, engine, organization_id, EXECUTE, {"id": resolution["id"]})
    assert paid["status"] == "EXECUTED"
    assert paid["voucher"]["status"] == "ACTIVE"
    rma = await twice(gql, engine, organization_id, COMPLETE, {"id": rma["id"]})
    assert rma["processingStatus"] == "COMPLETE"


async def test_a_dry_run_over_a_websocket_is_refused(server: Any, gql: GraphQLClient) -> None:
    from tests.ws import SubscriptionClient

    rma = await create(gql)
    await act(gql, rma["id"], "submit")
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(dry_document("accept"), {"id": rma["id"], "dryRun": True})
    message = await client.receive()
    await client.close()
    assert message["type"] == "next"
    (error,) = message["payload"]["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "dryRun")
    assert (await gql.data(GET_VERSION, {"id": rma["id"]}))["rmaOrder"]["processingStatus"] == "REQUESTED"


GET_VERSION = "query($id: String) { rmaOrder(id: $id) { processingStatus } }"
