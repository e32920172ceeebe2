"""Read side: rows for the GraphQL types, batched per relation, and the RMA order list."""

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from rma_graphql.db import rma_reads
from rma_graphql.db.repository import line_from_row, resolution_from_row, rma_from_row
from rma_graphql.db.rma_reads import KeysetRows
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter as RmaOrderFilter  # the API builds it
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]
MAX_PAGE = 250
MAX_HISTORY_PAGE = 1000


async def children_by_rma(uow: UnitOfWork, relation: str, keys: Sequence[str]) -> list[list[Row]]:
    async with uow.read() as conn:
        return await rma_reads.children_by_rma(conn, relation, keys)


async def rows_by_id(uow: UnitOfWork, kind: str, keys: Sequence[str]) -> list[Row | None]:
    async with uow.read() as conn:
        return await rma_reads.rows_by_id(conn, kind, keys)


def rma_from_rows(row: Row, lines: Sequence[Row], resolutions: Sequence[Row]) -> RmaOrder:
    """The aggregate as rows show it (current or of a past version), for what it computes."""
    return rma_from_row(row, [line_from_row(r) for r in lines], [resolution_from_row(r) for r in resolutions])


async def rma_order_row(uow: UnitOfWork, caller: Caller, rma_id: str) -> Row | None:
    async with uow.read() as conn:
        return await rma_reads.rma_order_row(conn, caller, rma_id)


async def rma_order_row_by_external_id(
    uow: UnitOfWork, caller: Caller, external_id: str, tp_app_id: str | None
) -> Row | None:
    async with uow.read() as conn:
        return await rma_reads.rma_order_row_by_external_id(conn, caller, external_id, tp_app_id)


async def history(
    uow: UnitOfWork,
    rma_id: str,
    after_sequence: int | None,
    first: int,
    *,
    up_to_sequence: int,
    public_only: bool = False,
) -> list[Row]:
    async with uow.read() as conn:
        return await rma_reads.history(
            conn, rma_id, after_sequence, first, up_to_sequence=up_to_sequence, public_only=public_only
        )


async def configurations(uow: UnitOfWork, organization_id: str) -> list[Row]:
    async with uow.read() as conn:
        return await rma_reads.configurations(conn, organization_id)


async def configuration(
    uow: UnitOfWork, organization_id: str, *, id: str | None = None, location_id: str | None = None
) -> Row | None:
    async with uow.read() as conn:
        return await rma_reads.configuration(conn, organization_id, id=id, location_id=location_id)


async def locations(uow: UnitOfWork, organization_id: str) -> list[Row]:
    async with uow.read() as conn:
        return await rma_reads.locations(conn, organization_id)


@dataclass
class Page:
    rows: list[Row]
    cursors: list[str]
    has_next_page: bool
    total_count: int
    has_previous_page: bool = field(default=False)


def check_first(first: int) -> None:
    if first < 0 or first > MAX_PAGE:
        raise BadUserInputError(f"first must be between 0 and {MAX_PAGE}.", "first")


def _encode_cursor(sort: str, row: Row) -> str:
    column, _ = rma_reads.SORTS[sort]
    value = row[column]
    payload = [sort, value.isoformat() if isinstance(value, datetime) else value, row["id"]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str | None) -> tuple[Any, str] | None:
    """The (sort value, id) of the row a cursor this API issued stands for."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, row_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadUserInputError("The cursor is not one this API issued.", "after") from None
    if cursor_sort != sort:
        raise BadUserInputError("The cursor was issued for another sort order.", "after")
    column, _ = rma_reads.SORTS[sort]
    if column != "return_number":
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise BadUserInputError("The cursor is not one this API issued.", "after") from None
    return value, str(row_id)


def page_of(found: KeysetRows, sort: str, *, after: str | None) -> Page:
    return Page(
        rows=found.rows,
        cursors=[_encode_cursor(sort, row) for row in found.rows],
        has_next_page=found.has_next_page,
        total_count=found.total_count,
        has_previous_page=after is not None,
    )


async def list_rma_orders(
    uow: UnitOfWork,
    caller: Caller,
    f: RmaOrderFilter,
    *,
    first: int,
    after: str | None,
    sort: str,
) -> Page:
    check_first(first)
    position = decode_cursor(sort, after)
    async with uow.read() as conn:
        found = await rma_reads.rma_order_rows(conn, caller, f, first=first, after=position, sort=sort)
    return page_of(found, sort, after=after)


async def organization(uow: UnitOfWork, organization_id: str) -> Row:
    async with uow.read() as conn:
        return await rma_reads.organization(conn, organization_id)


async def shipment(uow: UnitOfWork, organization_id: str, shipment_id: str) -> tuple[Row, list[Row]]:
    """A return shipment of the organization and its scans; NOT_FOUND otherwise."""
    async with uow.read() as conn:
        found = await rma_reads.shipment_rows(conn, organization_id, shipment_id)
    if found is None:
        raise NotFoundError(f"Shipment {shipment_id} not found.", shipment_id)
    return found


async def voucher_by_resolution(uow: UnitOfWork, resolution_id: str) -> Row | None:
    async with uow.read() as conn:
        return await rma_reads.voucher_by_resolution(conn, resolution_id)


async def resolution_row(uow: UnitOfWork, organization_id: str, resolution_id: str) -> Row | None:
    async with uow.read() as conn:
        return await rma_reads.resolution_row(conn, organization_id, resolution_id)
