"""What an order allows to be returned: the facts the rules need, read in one place.

``rmaOrderCreate``, ``rmaOrderUpdate``, ``rmaOrderSubmit`` and ``returnableItems`` all
read an order through ``order_facts`` and decide with ``domain.eligibility``.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.domain.eligibility import (
    INACTIVE_STATUSES,
    LineAssessment,
    OrderFacts,
    OrderLineFacts,
    ReturnPolicy,
    ReturnRefusedError,
    ReturnRequest,
    assess_order,
    check_return,
    order_return_status,
)
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.statuses import ProcessingStatus
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]

_ACTIVE = t.rma_order.c.processing_status.not_in([status.value for status in INACTIVE_STATUSES])


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


async def order_facts(
    conn: AsyncConnection,
    organization_id: str,
    order_ids: Collection[str],
    *,
    exclude_rma_id: str | None = None,
    lock: bool = False,
) -> dict[str, OrderFacts]:
    """The organization's orders among ``order_ids``, with what other active RMAs return.

    With ``lock`` the orders' rows stay locked until the transaction ends (PostgreSQL;
    SQLite has one writer at a time), so two returns of one order are decided one after
    the other and never both take the same units.
    """
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    query = (
        select(t.sales_order)
        .where(t.sales_order.c.organization_id == organization_id, t.sales_order.c.id.in_(ids))
        .order_by(t.sales_order.c.id)
    )
    if lock:
        query = query.with_for_update()
    orders = {row["id"]: row for row in (await conn.execute(query)).mappings()}
    if not orders:
        return {}
    others = [t.rma_order.c.id != exclude_rma_id] if exclude_rma_id is not None else []
    line_rows = (
        await conn.execute(
            select(t.sales_order_line)
            .where(t.sales_order_line.c.order_id.in_(list(orders)))
            .order_by(t.sales_order_line.c.order_id, t.sales_order_line.c.position)
        )
    ).mappings()
    lines_by_order: dict[str, list[Row]] = defaultdict(list)
    for line in line_rows:
        lines_by_order[line["order_id"]].append(line)
    line_ids = [line["id"] for lines in lines_by_order.values() for line in lines]
    returned_rows = await conn.execute(
        select(t.rma_order_line.c.order_line_id, func.sum(t.rma_order_line.c.quantity))
        .join(t.rma_order, t.rma_order.c.id == t.rma_order_line.c.rma_order_id)
        .where(t.rma_order_line.c.order_line_id.in_(line_ids), _ACTIVE, *others)
        .group_by(t.rma_order_line.c.order_line_id)
    )
    returned = {line_id: int(total) for line_id, total in returned_rows}
    linked_rows = await conn.execute(
        select(t.rma_linked_order.c.order_id, func.count(distinct(t.rma_order.c.id)))
        .join(t.rma_order, t.rma_order.c.id == t.rma_linked_order.c.rma_order_id)
        .where(
            t.rma_linked_order.c.organization_id == organization_id,
            t.rma_linked_order.c.order_id.in_(list(orders)),
            _ACTIVE,
            *others,
        )
        .group_by(t.rma_linked_order.c.order_id)
    )
    active_rmas = {order_id: int(count) for order_id, count in linked_rows}
    return {
        order_id: OrderFacts(
            id=order_id,
            external_reference=order["external_reference"],
            currency=order["currency"],
            shipped_at=order["shipped_at"],
            delivered_at=order["delivered_at"],
            lines={
                line["id"]: OrderLineFacts(
                    id=line["id"],
                    sku=line["sku"],
                    label=line["label"],
                    quantity=line["quantity"],
                    unit_price=line["unit_price"],
                    returned=returned.get(line["id"], 0),
                )
                for line in lines_by_order[order_id]
            },
            other_active_rmas=active_rmas.get(order_id, 0),
        )
        for order_id, order in orders.items()
    }


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


async def refresh_return_status(
    conn: AsyncConnection, organization_id: str, order_ids: Collection[str]
) -> None:
    """Recompute the return status of the orders among ``order_ids`` in this transaction."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    found = await conn.execute(
        select(t.sales_order.c.id, t.sales_order.c.return_status).where(
            t.sales_order.c.organization_id == organization_id, t.sales_order.c.id.in_(ids)
        )
    )
    current: dict[str, str] = {row[0]: row[1] for row in found}
    if not current:
        return
    linked = await conn.execute(
        select(t.rma_linked_order.c.order_id, t.rma_order.c.processing_status)
        .join(t.rma_order, t.rma_order.c.id == t.rma_linked_order.c.rma_order_id)
        .where(
            t.rma_linked_order.c.organization_id == organization_id,
            t.rma_linked_order.c.order_id.in_(list(current)),
        )
    )
    statuses: dict[str, list[ProcessingStatus]] = defaultdict(list)
    for order_id, status in linked:
        statuses[order_id].append(ProcessingStatus(status))
    for order_id, before in current.items():
        after = order_return_status(statuses[order_id]).value
        if after != before:
            await conn.execute(
                update(t.sales_order).where(t.sales_order.c.id == order_id).values(return_status=after)
            )
