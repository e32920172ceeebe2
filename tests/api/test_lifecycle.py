"""Lifecycles and rules of CONTRACT §4–6 over HTTP, with the invariants after each step."""

from typing import Any

from tests.conftest import GraphQLClient
from tests.helpers import act, assert_invariants, create, get

HAPPYCOLIS_GET = """
query GetRmaOrder($id: String, $byExternalId: RmaOrderByExternalIdInput) {
  rmaOrder(id: $id, byExternalId: $byExternalId) {
    id
    returnNumber
    returnReference
    externalId
    externalReference
    processingStatus
    deliveryStatus
    financialStatus
    fulfillmentStatus
    expectedResolution
    returnSlipUrl
    comment
    receivedAt
    issuedAt
    sender { fullname email address city zipcode country phone }
    deliveryContact { fullname email address city zipcode country phone }
    lines { label sku reference quantity reason productState }
    linkedOrders { orderId }
    shipments { id }
    financialResolutions { id }
  }
}
"""

HAPPYCOLIS_CREATE = """
mutation RmaOrderCreate($input: RmaOrderInput!) {
  rmaOrderCreate(input: $input) {
    id
    returnNumber
    returnReference
    processingStatus
    deliveryStatus
    financialStatus
    fulfillmentStatus
    expectedResolution
    returnSlipUrl
    lines { label sku reference quantity reason productState }
    sender { fullname email }
    deliveryContact { fullname email }
  }
}
"""

HAPPYCOLIS_REJECT = """
mutation RmaOrderReject($id: String!) {
  rmaOrderReject(id: $id) {
    id
    returnNumber
    returnReference
    processingStatus
    deliveryStatus
    financialStatus
    fulfillmentStatus
    expectedResolution
  }
}
"""

HAPPYCOLIS_COMPLETE = """
mutation RmaOrderCompleteProcessing($id: String!) {
  rmaOrderCompleteProcessing(id: $id) {
    id
    returnNumber
    returnReference
    processingStatus
    deliveryStatus
    financialStatus
    fulfillmentStatus
    expectedResolution
  }
}
"""

HAPPYCOLIS_INPUT = {
    "expectedResolution": "REFUND",
    "externalId": "RET-2024-001",
    "externalReference": "EXT-RET-001",
    "tpAppId": "my-ecommerce-app",
    "comment": "Customer reports wrong size",
    "lines": [
        {
            "label": "T-shirt",
            "sku": "TSHIRT-M",
            "reference": "REF-1",
            "quantity": 1,
            "reason": "SIZE_PROBLEM",
            "productState": "BRAND_NEW_WITH_LABEL",
            "price": 19.99,
        }
    ],
    "sender": {
        "fullname": "John Doe",
        "email": "john@example.com",
        "address": "1 rue X",
        "city": "Paris",
        "zipcode": "75001",
        "country": "FR",
        "phone": "+33100000000",
    },
    "deliveryContact": {"fullname": "Warehouse", "email": "wh@example.com"},
    "linkedOrders": [{"orderId": "ORDER-1", "externalReference": "#1001"}],
    "autoGenerateFinancialResolution": True,
    "autoExecuteFinancialResolution": True,
}


async def test_happycolis_documents_run_unchanged(gql: GraphQLClient) -> None:
    created = (await gql.data(HAPPYCOLIS_CREATE, {"input": HAPPYCOLIS_INPUT}))["rmaOrderCreate"]

    by_id = (await gql.data(HAPPYCOLIS_GET, {"id": created["id"]}))["rmaOrder"]
    by_external = (
        await gql.data(
            HAPPYCOLIS_GET, {"byExternalId": {"externalId": "RET-2024-001", "tpAppId": "my-ecommerce-app"}}
        )
    )["rmaOrder"]

    assert created["returnNumber"] == 1001
    assert created["returnReference"].endswith("-1001")
    assert (
        created["processingStatus"],
        created["deliveryStatus"],
        created["financialStatus"],
        created["fulfillmentStatus"],
    ) == ("NEW", "PENDING", "PENDING", "PENDING")
    assert by_id == by_external
    assert by_id["lines"] == [
        {
            "label": "T-shirt",
            "sku": "TSHIRT-M",
            "reference": "REF-1",
            "quantity": 1,
            "reason": "SIZE_PROBLEM",
            "productState": "BRAND_NEW_WITH_LABEL",
        }
    ]
    assert by_id["linkedOrders"] == [{"orderId": "ORDER-1"}]
    assert by_id["sender"]["phone"] == "+33100000000"
    assert by_id["shipments"] == []
    assert by_id["financialResolutions"] == []

    await act(gql, created["id"], "submit")
    rejected = (await gql.data(HAPPYCOLIS_REJECT, {"id": created["id"]}))["rmaOrderReject"]
    assert (rejected["processingStatus"], rejected["financialStatus"], rejected["deliveryStatus"]) == (
        "REJECTED",
        "NONE",
        "PENDING",
    )

    second = (
        await gql.data(
            HAPPYCOLIS_CREATE, {"input": {**HAPPYCOLIS_INPUT, "externalId": "RET-2024-002", "accept": True}}
        )
    )["rmaOrderCreate"]
    await act(gql, second["id"], "startFulfillment")
    completed = (await gql.data(HAPPYCOLIS_COMPLETE, {"id": second["id"]}))["rmaOrderCompleteProcessing"]
    assert (
        completed["processingStatus"],
        completed["deliveryStatus"],
        completed["financialStatus"],
        completed["fulfillmentStatus"],
    ) == ("COMPLETE", "DELIVERED", "REFUNDED", "COMPLETE")


async def test_tour_create_submit_accept_start_complete(gql: GraphQLClient) -> None:
    rma = await create(gql, autoGenerateFinancialResolution=True, retainedAmountForShipping=5)
    assert_invariants(rma)

    steps = ["submit", "accept", "startFulfillment", "completeProcessing"]
    for step in steps:
        rma = await act(gql, rma["id"], step)
        assert_invariants(rma)

    assert rma["version"] == 5
    assert [e["type"] for e in rma["history"]] == [
        "CREATED",
        "SUBMITTED",
        "ACCEPTED",
        "FULFILLMENT_STARTED",
        "PROCESSING_COMPLETED",
        "FINANCIAL_RESOLUTION_CREATED",
    ]
    assert [e["version"] for e in rma["history"]] == [1, 2, 3, 4, 5, 5]
    assert rma["history"][-1]["actor"] == {"type": "SYSTEM", "id": None, "name": "system"}
    viewer = (await gql.data("{ viewer { actor { type id name } } }"))["viewer"]
    assert rma["history"][0]["actor"] == viewer["actor"]
    assert viewer["actor"]["type"] == "API_CLIENT"
    assert viewer["actor"]["id"].startswith("rma_")
    assert rma["financialStatus"] == "PENDING"
    assert [(r["type"], r["amount"], r["currency"], r["status"]) for r in rma["financialResolutions"]] == [
        ("REFUND", 56.0, "EUR", "PENDING")
    ]
    assert {line["lineState"] for line in rma["lines"]} == {"FULFILLED"}


async def test_auto_execute_refunds_the_amount_due(gql: GraphQLClient) -> None:
    rma = await create(
        gql,
        accept=True,
        expectedResolution="VOUCHER",
        autoGenerateFinancialResolution=True,
        autoExecuteFinancialResolution=True,
    )

    await act(gql, rma["id"], "startFulfillment")
    rma = await act(gql, rma["id"], "completeProcessing")

    assert rma["financialStatus"] == "REFUNDED"
    assert [(r["type"], r["amount"], r["status"]) for r in rma["financialResolutions"]] == [
        ("VOUCHER", 61.0, "EXECUTED")
    ]
    assert [e["type"] for e in rma["history"][-3:]] == [
        "PROCESSING_COMPLETED",
        "FINANCIAL_RESOLUTION_CREATED",
        "FINANCIAL_RESOLUTION_EXECUTED",
    ]
    assert rma["history"][-1]["changes"] == [{"dimension": "FINANCIAL", "from": "PENDING", "to": "REFUNDED"}]
    assert_invariants(rma)


async def test_nothing_due_at_completion_sets_financial_none(gql: GraphQLClient) -> None:
    rma = await create(gql, accept=True, retainedAmountForShipping=1000, autoGenerateFinancialResolution=True)

    await act(gql, rma["id"], "startFulfillment")
    rma = await act(gql, rma["id"], "completeProcessing")

    assert rma["financialStatus"] == "NONE"
    assert rma["financialResolutions"] == []


async def test_create_with_accept_records_three_events_at_version_one(gql: GraphQLClient) -> None:
    rma = await create(gql, accept=True)

    assert rma["processingStatus"] == "ACCEPTED"
    assert rma["version"] == 1
    assert [(e["type"], e["version"]) for e in rma["history"]] == [
        ("CREATED", 1),
        ("SUBMITTED", 1),
        ("ACCEPTED", 1),
    ]


async def test_auto_accept_on_submit_is_a_system_event(gql: GraphQLClient) -> None:
    configuration = (await gql.data("{ rmaConfigurations { id } }"))["rmaConfigurations"][0]
    await gql.data(
        "mutation($id: String!) { rmaConfigurationUpdate(id: $id, input: {autoAccept: true}) { autoAccept } }",
        {"id": configuration["id"]},
    )
    rma = await create(gql)

    rma = await act(gql, rma["id"], "submit")

    assert rma["processingStatus"] == "ACCEPTED"
    assert rma["version"] == 2
    assert [(e["type"], e["actor"]["type"], e["version"]) for e in rma["history"][1:]] == [
        ("SUBMITTED", "API_CLIENT", 2),
        ("ACCEPTED", "SYSTEM", 2),
    ]


async def test_delivered_to_sender_flags_an_anomaly_and_resolving_ships_again(gql: GraphQLClient) -> None:
    rma = await create(gql, accept=True)
    await act(gql, rma["id"], "updateDeliveryStatus", status="HANDLED")

    rma = await act(gql, rma["id"], "updateDeliveryStatus", status="DELIVERED_TO_SENDER")

    assert (rma["processingStatus"], rma["deliveryStatus"]) == ("ANOMALY", "DELIVERED_TO_SENDER")
    assert rma["history"][-1]["type"] == "ANOMALY_FLAGGED"
    assert rma["history"][-1]["actor"]["type"] == "SYSTEM"
    assert rma["history"][-1]["comment"] == "returned to sender"
    assert rma["history"][-1]["version"] == rma["history"][-2]["version"] == rma["version"]
    refused = await gql.error(
        "mutation($id: String!) { rmaOrderStartFulfillment(id: $id) { id } }", {"id": rma["id"]}
    )
    assert refused["extensions"]["code"] == "INVALID_TRANSITION"

    rma = await act(gql, rma["id"], "resolveAnomaly")

    assert (rma["processingStatus"], rma["deliveryStatus"]) == ("ACCEPTED", "PENDING")


async def test_hold_from_anomaly_resume_then_resolve_returns_to_before_the_anomaly(
    gql: GraphQLClient,
) -> None:
    rma = await create(gql, accept=True)
    await act(gql, rma["id"], "startFulfillment")
    await act(gql, rma["id"], "flagAnomaly")

    await act(gql, rma["id"], "hold")
    rma = await act(gql, rma["id"], "resume")
    assert rma["processingStatus"] == "ANOMALY"
    rma = await act(gql, rma["id"], "resolveAnomaly")

    assert (rma["processingStatus"], rma["fulfillmentStatus"]) == ("PROCESSING", "IN_PROGRESS")


async def test_cancel_after_delivery_keeps_delivery(gql: GraphQLClient) -> None:
    rma = await create(gql, accept=True)
    await act(gql, rma["id"], "updateDeliveryStatus", status="DELIVERED")

    rma = await act(gql, rma["id"], "cancel")

    assert (
        rma["processingStatus"],
        rma["deliveryStatus"],
        rma["fulfillmentStatus"],
        rma["financialStatus"],
    ) == ("CANCELED", "DELIVERED", "CANCELED", "CANCELED")
    assert rma["history"][-1]["comment"] == "changed my mind"


async def test_request_fulfillment_once(gql: GraphQLClient) -> None:
    rma = await create(gql, accept=True)

    rma = await act(gql, rma["id"], "requestFulfillment")
    error = await gql.error(
        "mutation($id: String!) { rmaOrderRequestFulfillment(id: $id) { id } }", {"id": rma["id"]}
    )

    assert rma["fulfillmentRequestedAt"] is not None
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "already requested" in error["message"]
    assert (await get(gql, rma["id"]))["version"] == rma["version"]


async def test_update_replaces_lines_and_moves_financial_with_the_resolution(gql: GraphQLClient) -> None:
    rma = await create(gql)

    data = await gql.data(
        "mutation($id: String!, $input: RmaOrderUpdateInput!) { rmaOrderUpdate(id: $id, input: $input) { version financialStatus expectedResolution lines { sku quantity price } history { type changes { dimension from to } } } }",
        {
            "id": rma["id"],
            "input": {
                "expectedResolution": "REPLACE",
                "lines": [{"sku": "NEW-SKU", "quantity": 3, "reason": "WRONG_ITEM", "price": 1.005}],
            },
        },
    )

    updated = data["rmaOrderUpdate"]
    assert updated["version"] == 2
    assert (updated["financialStatus"], updated["expectedResolution"]) == ("NONE", "REPLACE")
    assert updated["lines"] == [{"sku": "NEW-SKU", "quantity": 3, "price": 1.0}]
    assert updated["history"][-1] == {
        "type": "UPDATED",
        "changes": [{"dimension": "FINANCIAL", "from": "PENDING", "to": "NONE"}],
    }


async def test_deleted_rma_stays_readable_and_refuses_every_action(gql: GraphQLClient) -> None:
    rma = await create(gql)
    rma = await act(gql, rma["id"], "delete")

    shown = await get(gql, rma["id"])
    listed = (await gql.data("{ rmaOrders { totalCount } }"))["rmaOrders"]["totalCount"]
    with_deleted = (await gql.data("{ rmaOrders(filter: {includeDeleted: true}) { totalCount } }"))[
        "rmaOrders"
    ]["totalCount"]
    by_status = (await gql.data("{ rmaOrders(filter: {processingStatus: [DELETED]}) { nodes { id } } }"))[
        "rmaOrders"
    ]["nodes"]

    assert shown["processingStatus"] == "DELETED"
    assert (listed, with_deleted) == (0, 1)
    assert by_status == [{"id": rma["id"]}]
    assert all(not entry["allowed"] for entry in shown["availableActions"])


async def test_expected_version_conflict_changes_nothing(gql: GraphQLClient) -> None:
    rma = await create(gql)

    error = await gql.error(
        "mutation($id: String!) { rmaOrderSubmit(id: $id, expectedVersion: 7) { id } }", {"id": rma["id"]}
    )
    after = await get(gql, rma["id"])
    accepted = await act(gql, rma["id"], "submit", expectedVersion=1)

    assert error["extensions"] == {"code": "CONFLICT", "expectedVersion": 7, "currentVersion": 1}
    assert after == rma
    assert accepted["version"] == 2


async def test_not_found(gql: GraphQLClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"

    query_error = await gql.error("query($id: String) { rmaOrder(id: $id) { id } }", {"id": missing})
    mutation_error = await gql.error(
        "mutation($id: String!) { rmaOrderAccept(id: $id) { id } }", {"id": missing}
    )
    external_error = await gql.error(
        "query($b: RmaOrderByExternalIdInput) { rmaOrder(byExternalId: $b) { id } }",
        {"b": {"externalId": "nope"}},
    )

    assert query_error["extensions"] == {"code": "NOT_FOUND", "id": missing}
    assert mutation_error["extensions"] == {"code": "NOT_FOUND", "id": missing}
    assert external_error["extensions"]["code"] == "NOT_FOUND"


async def test_by_external_id_without_tp_app_finds_the_one_created_without(gql: GraphQLClient) -> None:
    without = await create(gql, externalId="E-1")
    with_app = await create(gql, externalId="E-1", tpAppId="shop")

    found = (
        await gql.data(
            "query($b: RmaOrderByExternalIdInput) { rmaOrder(byExternalId: $b) { id } }",
            {"b": {"externalId": "E-1"}},
        )
    )["rmaOrder"]
    found_app = (
        await gql.data(
            "query($b: RmaOrderByExternalIdInput) { rmaOrder(byExternalId: $b) { id } }",
            {"b": {"externalId": "E-1", "tpAppId": "shop"}},
        )
    )["rmaOrder"]

    assert found == {"id": without["id"]}
    assert found_app == {"id": with_app["id"]}


async def test_money_is_exact_and_rounded_half_even(gql: GraphQLClient) -> None:
    rma = await create(
        gql,
        currency="JPY",
        lines=[{"sku": "A", "quantity": 1, "reason": "DEFECTIVE", "price": 2.5}],
        retainedAmountForShipping=0.5,
    )

    assert rma["currency"] == "JPY"
    assert rma["lines"][0]["price"] == 2.0
    assert rma["retainedAmountForShipping"] == 0.0


async def test_state_machines_and_available_actions_come_from_the_tables(gql: GraphQLClient) -> None:
    machines = (
        await gql.data(
            "{ rmaStateMachines { dimension states initial transitions { action from to } mermaid } }"
        )
    )["rmaStateMachines"]

    by_dimension: dict[str, Any] = {m["dimension"]: m for m in machines}
    assert set(by_dimension) == {"PROCESSING", "DELIVERY", "FINANCIAL", "FULFILLMENT"}
    assert by_dimension["PROCESSING"]["initial"] == "NEW"
    assert {"action": "submit", "from": "NEW", "to": "REQUESTED"} in by_dimension["PROCESSING"]["transitions"]
    assert by_dimension["FULFILLMENT"]["mermaid"].startswith("stateDiagram-v2\n")
    assert "NEW --> REQUESTED: submit" in by_dimension["PROCESSING"]["mermaid"]
