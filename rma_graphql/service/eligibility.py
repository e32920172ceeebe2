"""What an order allows to be returned: the facts the rules need, read in one place.

``rmaOrderCreate``, ``rmaOrderUpdate``, ``rmaOrderSubmit`` and ``returnableItems`` all
read an order through ``order_facts`` and decide with ``domain.eligibility``.
"""

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.order_facts import order_facts as order_facts
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


async def order_lines(
    conn: AsyncConnection, organization_id: str, line_ids: Collection[str]
) -> dict[str, Row]:
    """The organization's order lines among ``line_ids``, with their order's currency."""
    if not line_ids:
        return {}
    result = await conn.execute(
        select(t.sales_order_line, t.sales_order.c.currency, t.sales_order.c.external_reference)
        .join(t.sales_order, t.sales_order.c.id == t.sales_order_line.c.order_id)
        .where(
            t.sales_order_line.c.organization_id == organization_id,
            t.sales_order_line.c.id.in_(sorted(set(line_ids))),
        )
    )
    return {row["id"]: row for row in result.mappings()}


def check(
    policy: ReturnPolicy, request: ReturnRequest, orders: Mapping[str, OrderFacts], now: datetime
) -> None:
    """Apply the rules; a refusal becomes ``BAD_USER_INPUT`` with its reason code."""
    try:
        check_return(policy, request, orders, now)
    except ReturnRefusedError as refused:
        refusal = refused.refusal
        raise BadUserInputError(refusal.message, refusal.field, reason=refusal.code.value) from None


async def returnable_items(
    uow: UnitOfWork, organization_id: str, order_id: str, configuration: Row
) -> tuple[OrderFacts, list[LineAssessment]]:
    """Per line of the order, what may still be returned under the configuration's policy."""
    async with uow.read() as conn:
        facts = await order_facts(conn, organization_id, [order_id])
    if order_id not in facts:
        raise NotFoundError(f"Order {order_id} not found.", order_id)
    order = facts[order_id]
    return order, assess_order(policy_from_configuration(configuration), order, datetime.now(UTC))
