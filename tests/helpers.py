"""GraphQL documents and helpers shared by the API tests."""

import asyncio
import time
from typing import Any

RMA_FIELDS = """
  id version returnNumber returnReference processingStatus deliveryStatus financialStatus
  fulfillmentStatus expectedResolution currency retainedAmountForShipping applyReturnFee
  fulfillmentRequestedAt
  lines { id sku quantity price lineState reason }
  financialResolutions { id type amount currency status executedAt }
  availableActions { action allowed reason }
  history { sequence type version comment changes { dimension from to } actor { type id name } }
"""

CREATE = f"mutation Create($input: RmaOrderInput!) {{ rmaOrderCreate(input: $input) {{ {RMA_FIELDS} }} }}"
GET = f"query Get($id: String) {{ rmaOrder(id: $id) {{ {RMA_FIELDS} }} }}"

MUTATIONS = {
    "update": 'rmaOrderUpdate(id: $id, input: {comment: "updated"}, expectedVersion: $expectedVersion)',
    "submit": "rmaOrderSubmit(id: $id, expectedVersion: $expectedVersion)",
    "accept": "rmaOrderAccept(id: $id, expectedVersion: $expectedVersion)",
    "reject": 'rmaOrderReject(id: $id, reason: "not eligible", expectedVersion: $expectedVersion)',
    "cancel": 'rmaOrderCancel(id: $id, reason: "changed my mind", expectedVersion: $expectedVersion)',
    "hold": 'rmaOrderHold(id: $id, reason: "waiting", expectedVersion: $expectedVersion)',
    "resume": "rmaOrderResume(id: $id, expectedVersion: $expectedVersion)",
    "flagAnomaly": 'rmaOrderFlagAnomaly(id: $id, reason: "box empty", expectedVersion: $expectedVersion)',
    "resolveAnomaly": 'rmaOrderResolveAnomaly(id: $id, comment: "sorted", expectedVersion: $expectedVersion)',
    "delete": "rmaOrderDelete(id: $id, expectedVersion: $expectedVersion)",
    "requestFulfillment": "rmaOrderRequestFulfillment(id: $id, expectedVersion: $expectedVersion)",
    "startFulfillment": "rmaOrderStartFulfillment(id: $id, expectedVersion: $expectedVersion)",
    "completeProcessing": "rmaOrderCompleteProcessing(id: $id, expectedVersion: $expectedVersion)",
    "updateDeliveryStatus": "rmaOrderUpdateDeliveryStatus(id: $id, status: $status, expectedVersion: $expectedVersion)",
}


def action_document(action: str) -> str:
    variables = "$id: String!, $expectedVersion: Int"
    if action == "updateDeliveryStatus":
        variables += ", $status: RmaOrderDeliveryStatus!"
    return f"mutation Act({variables}) {{ result: {MUTATIONS[action]} {{ {RMA_FIELDS} }} }}"


def rma_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "expectedResolution": "REFUND",
        "lines": [
            {
                "sku": "SKU-RED-M",
                "label": "Red shirt",
                "quantity": 2,
                "reason": "SIZE_PROBLEM",
                "price": 25.5,
            },
            {"sku": "SKU-BLUE-L", "quantity": 1, "reason": "DEFECTIVE", "price": 10},
        ],
        "sender": {"fullname": "Ada Lovelace", "email": "ada@example.com"},
        "deliveryContact": {"fullname": "Warehouse", "city": "Lyon"},
    }
    data.update(overrides)
    return data


async def create(gql: Any, **overrides: Any) -> dict[str, Any]:
    data = await gql.data(CREATE, {"input": rma_input(**overrides)})
    rma: dict[str, Any] = data["rmaOrderCreate"]
    return rma


async def act(gql: Any, rma_id: str, action: str, **variables: Any) -> dict[str, Any]:
    data = await gql.data(action_document(action), {"id": rma_id, **variables})
    rma: dict[str, Any] = data["result"]
    return rma


async def get(gql: Any, rma_id: str) -> dict[str, Any]:
    rma: dict[str, Any] = (await gql.data(GET, {"id": rma_id}))["rmaOrder"]
    return rma


def assert_invariants(rma: dict[str, Any]) -> None:
    """CONTRACT §6, on one RMA as the API shows it."""
    processing = rma["processingStatus"]
    if processing == "COMPLETE":
        assert rma["fulfillmentStatus"] == "COMPLETE"
        assert rma["deliveryStatus"] == "DELIVERED"
    if processing == "PROCESSING":
        assert rma["fulfillmentStatus"] in ("IN_PROGRESS", "ERROR")
    if processing == "REJECTED":
        assert rma["financialStatus"] == "NONE"
    if processing == "CANCELED":
        assert rma["fulfillmentStatus"] == "CANCELED"
        assert rma["financialStatus"] in ("CANCELED", "NONE")
    if rma["financialStatus"] == "REFUNDED":
        executed = sum(r["amount"] for r in rma["financialResolutions"] if r["status"] == "EXECUTED")
        due = max(
            0.0,
            sum((line["price"] or 0) * line["quantity"] for line in rma["lines"])
            - rma["retainedAmountForShipping"],
        )
        assert round(executed, 2) == round(due, 2)
    history = rma["history"]
    assert [event["sequence"] for event in history] == list(range(1, len(history) + 1))
    assert history[-1]["version"] == rma["version"]
    assert history[0]["version"] == 1


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def snapshot(engine: Any, organization_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the organization in every table, and every row of the tables no
    organization owns: what "changed nothing" is checked against."""
    from sqlalchemy import select

    from rma_graphql.db.tables import metadata

    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "rate_limit_counter":
                continue  # requests are counted whatever their answer
            query = select(table)
            if "organization_id" in table.c:
                query = query.where(table.c.organization_id == organization_id)
            elif table.name == "organization":
                query = query.where(table.c.id == organization_id)
            rows = (await conn.execute(query)).all()
            tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return tables


SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token expiresIn user { id username email role } }
}
"""
LOG_IN = """
mutation LogIn($username: String!, $password: String!) {
  logIn(username: $username, password: $password) { token user { id username role } }
}
"""


def sign_up_input(organization_id: str, **overrides: str) -> dict[str, str]:
    """A customer's sign-up; usernames are unique across organizations, so the default one
    carries the organization's."""
    data = {
        "username": f"ada-{organization_id[:8]}",
        "email": "ada@example.com",
        "password": "correct horse",
        "organizationId": organization_id,
    }
    data.update(overrides)
    return data


async def in_one_minute_window(margin: float = 10.0) -> None:
    """Rate limits count in fixed windows of the clock's minutes: when the minute turns within
    ``margin`` seconds, wait for the next one, so that the requests that follow share one."""
    left = 60 - time.time() % 60
    if left < margin:
        await asyncio.sleep(left + 0.05)
