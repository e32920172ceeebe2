"""The dashboard's figures, each one aggregate query: the database counts and sums, Python
only reads the groups."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

Row = Any
# Returns that ended without goods coming back count as requests, not as returned units.
NOT_RETURNED = ("CANCELED", "REJECTED", "DELETED")


@dataclass(frozen=True)
class Window:
    organization_id: str
    since: datetime
    until: datetime
    location_id: str | None = None


def _day(conn: AsyncConnection, column: Any) -> ColumnElement[str]:
    """The UTC day of a time column, as YYYY-MM-DD."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(cast(column, String), 1, 10)  # SQLite keeps UTC times as text


def _rmas(window: Window) -> list[ColumnElement[bool]]:
    r = t.rma_order.c
    conditions = [
        r.organization_id == window.organization_id,
        r.created_at >= window.since,
        r.created_at < window.until,
        r.processing_status != "DELETED",
    ]
    if window.location_id is not None:
        conditions.append(r.location_id == window.location_id)
    return conditions


async def per_day(conn: AsyncConnection, window: Window) -> Sequence[Row]:
    """RMA orders created per UTC day, by processing status."""
    r = t.rma_order.c
    day = _day(conn, r.created_at).label("day")
    query = (
        select(day, r.processing_status, func.count().label("count"))
        .where(*_rmas(window))
        .group_by(day, r.processing_status)
        .order_by(day, r.processing_status)
    )
    return list((await conn.execute(query)).mappings())


async def reasons(conn: AsyncConnection, window: Window, limit: int) -> Sequence[Row]:
    """The reasons lines were returned for, most units first."""
    line, r = t.rma_order_line.c, t.rma_order.c
    units = func.sum(line.quantity).label("units")
    query = (
        select(line.reason, func.count().label("lines"), units)
        .join(t.rma_order, r.id == line.rma_order_id)
        .where(*_rmas(window))
        .group_by(line.reason)
        .order_by(units.desc(), line.reason)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def product_rates(conn: AsyncConnection, window: Window, limit: int) -> Sequence[Row]:
    """Per product: the units sold by orders placed in the window and the units returned by
    RMA orders created in it (not canceled, rejected or deleted), most returned first."""
    sold_line, order, sku = t.sales_order_line.c, t.sales_order.c, t.sku.c
    sold = (
        select(sku.product_id.label("product_id"), func.sum(sold_line.quantity).label("units"))
        .join(t.sales_order, order.id == sold_line.order_id)
        .join(t.sku, sku.id == sold_line.sku_id)
        .where(
            order.organization_id == window.organization_id,
            order.ordered_at >= window.since,
            order.ordered_at < window.until,
        )
        .group_by(sku.product_id)
        .subquery()
    )
    line, r = t.rma_order_line.c, t.rma_order.c
    returned = (
        select(sku.product_id.label("product_id"), func.sum(line.quantity).label("units"))
        .join(t.rma_order, r.id == line.rma_order_id)
        .join(t.sku, and_(sku.organization_id == r.organization_id, sku.code == line.sku))
        .where(*_rmas(window), r.processing_status.not_in(NOT_RETURNED))
        .group_by(sku.product_id)
        .subquery()
    )
    product = t.product.c
    returned_units = func.coalesce(returned.c.units, 0).label("returned")
    query = (
        select(product.id, product.name, func.coalesce(sold.c.units, 0).label("sold"), returned_units)
        .select_from(t.product)
        .outerjoin(sold, sold.c.product_id == product.id)
        .outerjoin(returned, returned.c.product_id == product.id)
        .where(product.organization_id == window.organization_id)
        .where((sold.c.units.is_not(None)) | (returned.c.units.is_not(None)))
        .order_by(returned_units.desc(), product.name)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def resolutions(conn: AsyncConnection, window: Window) -> Sequence[Row]:
    """Refunds and vouchers paid (executed), per type and currency, for RMA orders created in
    the window: how many and how much, and the mean seconds from the request to the payment."""
    f, r = t.rma_financial_resolution.c, t.rma_order.c
    waited: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        waited = extract("epoch", f.executed_at - r.created_at)
    else:
        waited = (func.julianday(f.executed_at) - func.julianday(r.created_at)) * 86400
    query = (
        select(
            f.type,
            f.currency,
            func.count().label("count"),
            func.sum(f.amount).label("amount"),
            func.avg(waited).label("seconds"),
        )
        .join(t.rma_order, r.id == f.rma_order_id)
        .where(*_rmas(window), f.status == "EXECUTED")
        .group_by(f.type, f.currency)
        .order_by(f.type, f.currency)
    )
    return list((await conn.execute(query)).mappings())
