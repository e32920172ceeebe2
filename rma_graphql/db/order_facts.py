"""What the return rules need to know of sales orders: their lines, and how much of each line
the other active RMA orders already return."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.domain.eligibility import INACTIVE_STATUSES, OrderFacts, OrderLineFacts

Row = Mapping[Any, Any]

# An RMA order that still holds the units it returns.
_ACTIVE = t.rma_order.c.processing_status.not_in([status.value for status in INACTIVE_STATUSES])


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
    lines_by_order = await _lines_by_order(conn, list(orders))
    line_ids = [line["id"] for lines in lines_by_order.values() for line in lines]
    returned = await _returned_units(conn, line_ids, others)
    active_rmas = await _active_rmas(conn, organization_id, list(orders), others)
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
            customer_id=order["customer_id"],
        )
        for order_id, order in orders.items()
    }


async def _lines_by_order(conn: AsyncConnection, order_ids: list[str]) -> dict[str, list[Row]]:
    rows = (
        await conn.execute(
            select(t.sales_order_line)
            .where(t.sales_order_line.c.order_id.in_(order_ids))
            .order_by(t.sales_order_line.c.order_id, t.sales_order_line.c.position)
        )
    ).mappings()
    lines_by_order: dict[str, list[Row]] = defaultdict(list)
    for line in rows:
        lines_by_order[line["order_id"]].append(line)
    return lines_by_order


async def _returned_units(
    conn: AsyncConnection, line_ids: list[str], others: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    """Per order line, the units active RMA orders (but the one excluded) return."""
    rows = await conn.execute(
        select(t.rma_order_line.c.order_line_id, func.sum(t.rma_order_line.c.quantity))
        .join(t.rma_order, t.rma_order.c.id == t.rma_order_line.c.rma_order_id)
        .where(t.rma_order_line.c.order_line_id.in_(line_ids), _ACTIVE, *others)
        .group_by(t.rma_order_line.c.order_line_id)
    )
    return {line_id: int(total) for line_id, total in rows}


async def _active_rmas(
    conn: AsyncConnection, organization_id: str, order_ids: list[str], others: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    """Per order, how many active RMA orders (but the one excluded) name it."""
    rows = await conn.execute(
        select(t.rma_linked_order.c.order_id, func.count(distinct(t.rma_order.c.id)))
        .join(t.rma_order, t.rma_order.c.id == t.rma_linked_order.c.rma_order_id)
        .where(
            t.rma_linked_order.c.organization_id == organization_id,
            t.rma_linked_order.c.order_id.in_(order_ids),
            _ACTIVE,
            *others,
        )
        .group_by(t.rma_linked_order.c.order_id)
    )
    return {order_id: int(count) for order_id, count in rows}


async def order_lines(
    conn: AsyncConnection, organization_id: str, line_ids: Collection[str]
) -> dict[str, Row]:
    """The organization's order lines among ``line_ids``, with their order's currency and
    customer (``order_customer_id``)."""
    if not line_ids:
        return {}
    order = t.sales_order.c
    result = await conn.execute(
        select(
            t.sales_order_line,
            order.currency,
            order.external_reference,
            order.customer_id.label("order_customer_id"),
        )
        .join(t.sales_order, t.sales_order.c.id == t.sales_order_line.c.order_id)
        .where(
            t.sales_order_line.c.organization_id == organization_id,
            t.sales_order_line.c.id.in_(sorted(set(line_ids))),
        )
    )
    return {row["id"]: row for row in result.mappings()}


async def sold(
    conn: AsyncConnection, organization_id: str, order_ids: Sequence[str], currency: str
) -> tuple[dict[str, int], dict[str, dict[str, tuple[int, int]]]]:
    """What the orders in ``currency`` among ``order_ids`` charged: their shipping, and per
    order line its (quantity, unit price)."""
    if not order_ids:
        return {}, {}  # a return that names no order: nothing to read
    orders = await conn.execute(
        select(t.sales_order.c.id, t.sales_order.c.shipping_amount).where(
            t.sales_order.c.organization_id == organization_id,
            t.sales_order.c.id.in_(list(order_ids)),
            t.sales_order.c.currency == currency,
        )
    )
    shipping = {row.id: row.shipping_amount for row in orders}
    if not shipping:
        return {}, {}
    lines = await conn.execute(
        select(
            t.sales_order_line.c.id,
            t.sales_order_line.c.order_id,
            t.sales_order_line.c.quantity,
            t.sales_order_line.c.unit_price,
        ).where(t.sales_order_line.c.order_id.in_(list(shipping)))
    )
    sold_lines: dict[str, dict[str, tuple[int, int]]] = {order_id: {} for order_id in shipping}
    for row in lines:
        sold_lines[row.order_id][row.id] = (row.quantity, row.unit_price)
    return shipping, sold_lines
