"""Read side: rows for the GraphQL types, batched per relation, and the RMA order list."""

import base64
import binascii
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.repository import line_from_row, resolution_from_row, rma_from_row
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.domain.statuses import CommentVisibility, ProcessingStatus
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]
MAX_PAGE = 250

_CHILDREN = {
    "lines": (t.rma_order_line, (t.rma_order_line.c.position,)),
    "linked_orders": (t.rma_linked_order, (t.rma_linked_order.c.position,)),
    "financial_resolutions": (
        t.rma_financial_resolution,
        (t.rma_financial_resolution.c.created_at, t.rma_financial_resolution.c.id),
    ),
    "comments": (t.rma_order_comment, (t.rma_order_comment.c.sequence,)),
    "shipments": (t.rma_shipment, (t.rma_shipment.c.sequence,)),
    "shipment_events": (t.rma_shipment_event, (t.rma_shipment_event.c.date, t.rma_shipment_event.c.sequence)),
    "inspections": (t.rma_line_inspection, (t.rma_line_inspection.c.sequence,)),
    "replacement_orders": (t.sales_order, (t.sales_order.c.created_at, t.sales_order.c.id)),
}
# The column that ties a child to its RMA order, where it is not ``rma_order_id``.
_PARENT = {"replacement_orders": t.sales_order.c.replacement_for_rma_id}
_BY_ID = {
    "locations": t.location,
    "organizations": t.organization,
    "products": t.product,
    "customers": t.customer,
    "orders": t.sales_order,
}


async def children_by_rma(uow: UnitOfWork, relation: str, keys: Sequence[str]) -> list[list[Row]]:
    table, order = _CHILDREN[relation]
    parent = _PARENT.get(relation, table.c.get("rma_order_id"))
    assert parent is not None
    async with uow.read() as conn:
        result = await conn.execute(select(table).where(parent.in_(keys)).order_by(*order))
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in result.mappings():
            grouped[row[parent.name]].append(row)
    return [grouped.get(key, []) for key in keys]


async def rows_by_id(uow: UnitOfWork, kind: str, keys: Sequence[str]) -> list[Row | None]:
    table = _BY_ID[kind]
    async with uow.read() as conn:
        result = await conn.execute(select(table).where(table.c.id.in_(keys)))
        found = {row["id"]: row for row in result.mappings()}
    return [found.get(key) for key in keys]


def rma_from_rows(row: Row, lines: Sequence[Row], resolutions: Sequence[Row]) -> RmaOrder:
    """The aggregate as rows show it (current or of a past version), for what it computes."""
    return rma_from_row(row, [line_from_row(r) for r in lines], [resolution_from_row(r) for r in resolutions])


def visible_to(caller: Caller) -> list[ColumnElement[bool]]:
    """The RMA orders a caller may see: its organization's, and a customer's own only."""
    conditions: list[ColumnElement[bool]] = [t.rma_order.c.organization_id == caller.organization_id]
    if caller.customer_id is not None:
        conditions.append(t.rma_order.c.customer_id == caller.customer_id)
    return conditions


async def rma_order_row(uow: UnitOfWork, caller: Caller, rma_id: str) -> Row | None:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.rma_order).where(t.rma_order.c.id == rma_id, *visible_to(caller))
        )
        return result.mappings().first()


async def rma_order_row_by_external_id(
    uow: UnitOfWork, caller: Caller, external_id: str, tp_app_id: str | None
) -> Row | None:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.rma_order).where(
                *visible_to(caller),
                t.rma_order.c.tp_app_key == (tp_app_id or ""),
                t.rma_order.c.external_id == external_id,
            )
        )
        return result.mappings().first()


MAX_HISTORY_PAGE = 1000


async def history(
    uow: UnitOfWork,
    rma_id: str,
    after_sequence: int | None,
    first: int,
    *,
    up_to_sequence: int,
    public_only: bool = False,
) -> list[Row]:
    c = t.rma_order_event.c
    query = (
        select(t.rma_order_event)
        .where(c.rma_order_id == rma_id, c.sequence <= up_to_sequence)
        .order_by(c.sequence)
        .limit(first)
    )
    if public_only:
        query = query.where(or_(c.visibility.is_(None), c.visibility == CommentVisibility.CUSTOMER.value))
    if after_sequence is not None:
        query = query.where(t.rma_order_event.c.sequence > after_sequence)
    async with uow.read() as conn:
        return list((await conn.execute(query)).mappings().all())


async def configurations(uow: UnitOfWork, organization_id: str) -> list[Row]:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.rma_configuration)
            .where(t.rma_configuration.c.organization_id == organization_id)
            .order_by(t.rma_configuration.c.created_at, t.rma_configuration.c.id)
        )
        return list(result.mappings().all())


async def configuration(
    uow: UnitOfWork, organization_id: str, *, id: str | None = None, location_id: str | None = None
) -> Row | None:
    query = select(t.rma_configuration).where(t.rma_configuration.c.organization_id == organization_id)
    if id is not None:
        query = query.where(t.rma_configuration.c.id == id)
    if location_id is not None:
        query = query.where(t.rma_configuration.c.location_id == location_id)
    async with uow.read() as conn:
        return (await conn.execute(query)).mappings().first()


async def locations(uow: UnitOfWork, organization_id: str) -> list[Row]:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.location)
            .where(t.location.c.organization_id == organization_id)
            .order_by(t.location.c.created_at, t.location.c.id)
        )
        return list(result.mappings().all())


@dataclass
class RmaOrderFilter:
    processing_status: list[str] | None = None
    delivery_status: list[str] | None = None
    financial_status: list[str] | None = None
    fulfillment_status: list[str] | None = None
    expected_resolution: list[str] | None = None
    location_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None
    include_deleted: bool = False


@dataclass
class Page:
    rows: list[Row]
    cursors: list[str]
    has_next_page: bool
    total_count: int
    has_previous_page: bool = field(default=False)


# sort name -> (column, descending)
SORTS: dict[str, tuple[str, bool]] = {
    "CREATED_AT_DESC": ("created_at", True),
    "CREATED_AT_ASC": ("created_at", False),
    "UPDATED_AT_DESC": ("updated_at", True),
    "RETURN_NUMBER_DESC": ("return_number", True),
    "RETURN_NUMBER_ASC": ("return_number", False),
}


def _encode_cursor(sort: str, row: Row) -> str:
    column, _ = SORTS[sort]
    value = row[column]
    payload = [sort, value.isoformat() if isinstance(value, datetime) else value, row["id"]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode_cursor(sort: str, cursor: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, row_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadUserInputError("The cursor is not one this API issued.", "after") from None
    if cursor_sort != sort:
        raise BadUserInputError("The cursor was issued for another sort order.", "after")
    column, _ = SORTS[sort]
    if column != "return_number":
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise BadUserInputError("The cursor is not one this API issued.", "after") from None
    return value, str(row_id)


def _conditions(caller: Caller, f: RmaOrderFilter) -> list[ColumnElement[bool]]:
    c = t.rma_order.c
    conditions = visible_to(caller)
    for name in (
        "processing_status",
        "delivery_status",
        "financial_status",
        "fulfillment_status",
        "expected_resolution",
    ):
        values = getattr(f, name)
        if values:
            conditions.append(c[name].in_(values))
    shows_deleted = f.include_deleted or (
        f.processing_status is not None and ProcessingStatus.DELETED.value in f.processing_status
    )
    if not shows_deleted:
        conditions.append(c.processing_status != ProcessingStatus.DELETED.value)
    if f.location_id is not None:
        conditions.append(c.location_id == f.location_id)
    if f.created_after is not None:
        conditions.append(c.created_at >= f.created_after)
    if f.created_before is not None:
        conditions.append(c.created_at < f.created_before)
    if f.search:
        conditions.append(c.search_text.contains(f.search.casefold(), autoescape=True))
    return conditions


async def list_rma_orders(
    uow: UnitOfWork,
    caller: Caller,
    f: RmaOrderFilter,
    *,
    first: int,
    after: str | None,
    sort: str,
) -> Page:
    return await keyset_page(uow, t.rma_order, _conditions(caller, f), first=first, after=after, sort=sort)


async def keyset_page(
    uow: UnitOfWork,
    table: Table,
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
    after: str | None,
    sort: str = "CREATED_AT_DESC",
) -> Page:
    """One page of a table's matching rows, in the sort's order, after a cursor."""
    if first < 0 or first > MAX_PAGE:
        raise BadUserInputError(f"first must be between 0 and {MAX_PAGE}.", "first")
    column_name, descending = SORTS[sort]
    column = table.c[column_name]
    key = table.c.id
    count_query = select(func.count()).select_from(table).where(*conditions)
    query: Select[Any] = select(table).where(*conditions)
    if after is not None:
        value, row_id = _decode_cursor(sort, after)
        if descending:
            query = query.where(or_(column < value, and_(column == value, key < row_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, key > row_id)))
    order = (column.desc(), key.desc()) if descending else (column.asc(), key.asc())
    query = query.order_by(*order).limit(first + 1)
    async with uow.read() as conn:
        total = int((await conn.execute(count_query)).scalar_one())
        rows = list((await conn.execute(query)).mappings().all())
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(
        rows=rows,
        cursors=[_encode_cursor(sort, row) for row in rows],
        has_next_page=has_next,
        total_count=total,
        has_previous_page=after is not None,
    )


async def organization(uow: UnitOfWork, organization_id: str) -> Row:
    async with uow.read() as conn:
        result = await conn.execute(select(t.organization).where(t.organization.c.id == organization_id))
        return result.mappings().one()


async def shipment(uow: UnitOfWork, organization_id: str, shipment_id: str) -> tuple[Row, list[Row]]:
    """A return shipment of the organization and its scans; NOT_FOUND otherwise."""
    async with uow.read() as conn:
        found = await shipment_rows(conn, organization_id, shipment_id)
    if found is None:
        raise NotFoundError(f"Shipment {shipment_id} not found.", shipment_id)
    return found


async def shipment_rows(
    conn: AsyncConnection, organization_id: str, shipment_id: str
) -> tuple[Row, list[Row]] | None:
    """A return shipment and its scans in (date, sequence) order."""
    found = await conn.execute(
        select(t.rma_shipment).where(
            t.rma_shipment.c.id == shipment_id, t.rma_shipment.c.organization_id == organization_id
        )
    )
    row = found.mappings().first()
    if row is None:
        return None
    events = await conn.execute(
        select(t.rma_shipment_event)
        .where(t.rma_shipment_event.c.shipment_id == shipment_id)
        .order_by(t.rma_shipment_event.c.date, t.rma_shipment_event.c.sequence)
    )
    return row, list(events.mappings())


async def voucher_by_resolution(uow: UnitOfWork, resolution_id: str) -> Row | None:
    async with uow.read() as conn:
        result = await conn.execute(select(t.voucher).where(t.voucher.c.resolution_id == resolution_id))
        return result.mappings().first()


async def resolution_row(uow: UnitOfWork, organization_id: str, resolution_id: str) -> Row | None:
    table = t.rma_financial_resolution
    async with uow.read() as conn:
        result = await conn.execute(
            select(table).where(table.c.id == resolution_id, table.c.organization_id == organization_id)
        )
        return result.mappings().first()
