"""What an order allows to be returned: the facts the rules need, read in one place.

``rmaOrderCreate``, ``rmaOrderUpdate``, ``rmaOrderSubmit`` and ``returnableItems`` all
read an order through ``order_facts`` and decide with ``domain.eligibility``.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import order_facts as facts
from rma_graphql.db.engine import Connection
from rma_graphql.db.order_facts import order_facts as order_facts
from rma_graphql.domain.access import Caller
from rma_graphql.domain.eligibility import (
    LineAssessment,
    OrderFacts,
    ReturnPolicy,
    ReturnRefusedError,
    ReturnRequest,
    assess_order,
    check_return,
)
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]


def policy_from_configuration(configuration: Row) -> ReturnPolicy:
    """The return policy of a location's configuration (its columns carry the same names)."""
    return ReturnPolicy.from_json(configuration)


def check(
    policy: ReturnPolicy, request: ReturnRequest, orders: Mapping[str, OrderFacts], now: datetime
) -> None:
    """Apply the rules; a refusal becomes ``BAD_USER_INPUT`` with its reason code."""
    try:
        check_return(policy, request, orders, now)
    except ReturnRefusedError as refused:
        refusal = refused.refusal
        raise BadUserInputError(refusal.message, refusal.field, reason=refusal.code.value) from None


async def order_lines(conn: Connection, caller: Caller, line_ids: list[str]) -> dict[str, Row]:
    """The order lines among ``line_ids`` of the orders the caller sees (a customer: its own)."""
    found = await facts.order_lines(conn, caller.organization_id, line_ids)
    return {
        k: line for k, line in found.items() if caller.sees_order(line["order_id"], line["order_customer_id"])
    }


def check_orders_seen(caller: Caller, orders: Mapping[str, OrderFacts], field: str) -> None:
    """A customer names only its own orders: another's is unknown to it."""
    for order_id, order in orders.items():
        if not caller.sees_order(order_id, order.customer_id):
            raise BadUserInputError(f"Unknown order {order_id}.", field)


async def returnable_items(
    uow: UnitOfWork, caller: Caller, order_id: str, configuration: Row
) -> tuple[OrderFacts, list[LineAssessment]]:
    """Per line of the order, what may still be returned under the configuration's policy."""
    async with uow.read() as conn:
        found = await order_facts(conn, caller.organization_id, [order_id])
    if order_id not in found or not caller.sees_order(order_id, found[order_id].customer_id):
        raise NotFoundError(f"Order {order_id} not found.", order_id)
    order = found[order_id]
    return order, assess_order(policy_from_configuration(configuration), order, datetime.now(UTC))
