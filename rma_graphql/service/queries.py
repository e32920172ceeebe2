"""Read side: rows for the GraphQL types, batched per relation, and the RMA order list."""

import base64
import binascii
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Generic

import orjson

from rma_graphql.db import plan_reads, rma_reads
from rma_graphql.db.repository import line_from_row, resolution_from_row, rma_from_row
from rma_graphql.db.rma_reads import KeysetRows
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter as RmaOrderFilter  # the API builds it
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.service.records import (
    LocationRecord,
    OrganizationRecord,
    R,
    RmaConfigurationRecord,
    RmaFinancialResolutionRecord,
    RmaOrderEventRecord,
    RmaOrderLineRecord,
    RmaOrderRecord,
    RmaShipmentEventRecord,
    RmaShipmentRecord,
    VoucherRecord,
    record,
    records,
    row_of,
)
from rma_graphql.service.unit_of_work import UnitOfWork, written_state

Row = Mapping[Any, Any]
MAX_PAGE = 250
MAX_HISTORY_PAGE = 1000


async def children_by_rma(
    uow: UnitOfWork, relation: str, kind: type[R], keys: Sequence[str]
) -> list[list[R]]:
    """The ``relation`` of each RMA order (its lines, comments, …) as ``kind`` records."""
    async with uow.read() as conn:
        found = await rma_reads.children_by_rma(conn, relation, keys)
    return [records(kind, rows) for rows in found]


async def by_id(uow: UnitOfWork, table: str, kind: type[R], keys: Sequence[str]) -> list[R | None]:
    """The rows of ``table`` (locations, products, …) with these ids, as ``kind`` records."""
    async with uow.read() as conn:
        found = await rma_reads.rows_by_id(conn, table, keys)
    return [None if row is None else record(kind, row) for row in found]


def rma_from_records(
    row: RmaOrderRecord,
    lines: Sequence[RmaOrderLineRecord],
    resolutions: Sequence[RmaFinancialResolutionRecord],
) -> RmaOrder:
    """The aggregate as records show it (current or of a past version), for what it computes."""
    return rma_from_row(
        row_of(row),
        [line_from_row(row_of(line)) for line in lines],
        [resolution_from_row(row_of(resolution)) for resolution in resolutions],
    )


async def rma_order_row(uow: UnitOfWork, caller: Caller, rma_id: str) -> RmaOrderRecord | None:
    async with uow.read() as conn:
        row = await rma_reads.rma_order_row(conn, caller, rma_id)
    return None if row is None else record(RmaOrderRecord, row)


async def rma_order_row_by_external_id(
    uow: UnitOfWork, caller: Caller, external_id: str, tp_app_id: str | None
) -> RmaOrderRecord | None:
    async with uow.read() as conn:
        row = await rma_reads.rma_order_row_by_external_id(conn, caller, external_id, tp_app_id)
    return None if row is None else record(RmaOrderRecord, row)


# What one page of an RMA order's history is asked by: its id, the last sequence it shows (its
# version's), the sequence it starts after, how many, and whether only what a customer sees.
HistoryKey = tuple[str, int, int | None, int, bool]


async def histories(uow: UnitOfWork, keys: Sequence[HistoryKey]) -> list[list[RmaOrderEventRecord]]:
    """The history page of each key: one statement per distinct (after, first, customer)."""
    found: dict[HistoryKey, list[RmaOrderEventRecord]] = {}
    groups: dict[tuple[int | None, int, bool], list[HistoryKey]] = {}
    for key in keys:
        groups.setdefault((key[2], key[3], key[4]), []).append(key)
    async with uow.read() as conn:
        for (after, first, public_only), group in groups.items():
            rows = await rma_reads.histories(
                conn, [(key[0], key[1]) for key in group], after, first, public_only=public_only
            )
            for key, one in zip(group, rows, strict=True):
                found[key] = records(RmaOrderEventRecord, one)
    return [found[key] for key in keys]


async def configurations(uow: UnitOfWork, organization_id: str) -> list[RmaConfigurationRecord]:
    async with uow.read() as conn:
        return records(RmaConfigurationRecord, await rma_reads.configurations(conn, organization_id))


async def configuration(
    uow: UnitOfWork, organization_id: str, *, id: str | None = None, location_id: str | None = None
) -> RmaConfigurationRecord | None:
    async with uow.read() as conn:
        row = await rma_reads.configuration(conn, organization_id, id=id, location_id=location_id)
    return None if row is None else record(RmaConfigurationRecord, row)


async def locations(uow: UnitOfWork, organization_id: str) -> list[LocationRecord]:
    async with uow.read() as conn:
        return records(LocationRecord, await rma_reads.locations(conn, organization_id))


@dataclass
class Page(Generic[R]):
    rows: list[R]
    has_next_page: bool
    has_previous_page: bool = field(default=False)
    # The rows as read and their sort: each row's cursor is made only when asked for.
    found: Sequence[Row] = ()
    sort: str = "CREATED_AT_DESC"

    @cached_property
    def cursors(self) -> list[str]:
        return [_encode_cursor(self.sort, row) for row in self.found]

    @property
    def start_cursor(self) -> str | None:
        return _encode_cursor(self.sort, self.found[0]) if self.found else None

    @property
    def end_cursor(self) -> str | None:
        return _encode_cursor(self.sort, self.found[-1]) if self.found else None


@dataclass(frozen=True)
class RmaOrderMatches:
    """How many RMA orders a list's criteria match, counted only when asked for: the page
    itself never waits on a count."""

    uow: UnitOfWork
    caller: Caller
    criteria: RmaOrderFilter

    async def exact(self) -> int:
        async with self.uow.read() as conn:
            return await rma_reads.rma_order_count(conn, self.caller, self.criteria, exact=True)

    async def estimate(self) -> int:
        """The planner's estimate (PostgreSQL; the exact count on SQLite)."""
        async with self.uow.read() as conn:
            return await rma_reads.rma_order_count(conn, self.caller, self.criteria, exact=False)


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


def page_of(found: KeysetRows, kind: type[R], sort: str, *, after: str | None) -> Page[R]:
    return Page(
        rows=records(kind, found.rows),
        has_next_page=found.has_next_page,
        has_previous_page=after is not None,
        found=found.rows,
        sort=sort,
    )


async def list_rma_orders(
    uow: UnitOfWork,
    caller: Caller,
    f: RmaOrderFilter,
    *,
    first: int,
    after: str | None,
    sort: str,
) -> Page[RmaOrderRecord]:
    check_first(first)
    position = decode_cursor(sort, after)
    async with uow.read() as conn:
        found = await rma_reads.rma_order_rows(conn, caller, f, first=first, after=position, sort=sort)
    return page_of(found, RmaOrderRecord, sort, after=after)


async def organization(uow: UnitOfWork, organization_id: str) -> OrganizationRecord:
    async with uow.read() as conn:
        return record(OrganizationRecord, await rma_reads.organization(conn, organization_id))


async def shipment(
    uow: UnitOfWork, organization_id: str, shipment_id: str
) -> tuple[RmaShipmentRecord, list[RmaShipmentEventRecord]]:
    """A return shipment of the organization and its scans; NOT_FOUND otherwise."""
    async with uow.read() as conn:
        found = await rma_reads.shipment_rows(conn, organization_id, shipment_id)
    if found is None:
        raise NotFoundError(f"Shipment {shipment_id} not found.", shipment_id)
    row, scans = found
    return record(RmaShipmentRecord, row), records(RmaShipmentEventRecord, scans)


async def voucher_by_resolution(uow: UnitOfWork, resolution_id: str) -> VoucherRecord | None:
    async with uow.read() as conn:
        row = await rma_reads.voucher_by_resolution(conn, resolution_id)
    return None if row is None else record(VoucherRecord, row)


async def resolution_row(
    uow: UnitOfWork, organization_id: str, resolution_id: str
) -> RmaFinancialResolutionRecord | None:
    async with uow.read() as conn:
        row = await rma_reads.resolution_row(conn, organization_id, resolution_id)
    return None if row is None else record(RmaFinancialResolutionRecord, row)


# Only the columns a compiled read plan asks for, as plain rows (no records).


# Set while a change's answer is read (api/compiled_actions.py): the RMA order it wrote is
# answered from the revision it kept.
_answering_change: ContextVar[bool] = ContextVar("answering_change", default=False)


@contextmanager
def answering_change() -> Iterator[None]:
    """Within the block, the reads of the RMA order this operation's change wrote (and
    nothing else) answer from the revision it kept and committed."""
    token = _answering_change.set(True)
    try:
        yield
    finally:
        _answering_change.reset(token)


def _written_values(
    caller: Caller, rma_id: str, columns: tuple[str, ...], line_columns: tuple[str, ...] = ()
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
    """The RMA order this operation's change wrote, as the revision it kept and committed
    has it (no read), while its answer is read: its row's and its lines' columns (the lines
    as a joined read gives them). None when it wrote none, or when a column asked for is not
    the revision's."""
    revision = written_state(rma_id) if _answering_change.get() else None
    if revision is None:
        return None
    row = revision.row
    if caller.customer_id is not None and row.get("customer_id") != caller.customer_id:
        return None
    if any(column not in row for column in columns) or any(
        column not in line for line in revision.lines for column in line_columns
    ):
        return None
    lines: list[Mapping[str, Any]] = [
        {plan_reads.LINE_PREFIX + column: line[column] for column in ("id", *line_columns)}
        for line in revision.lines
    ]
    found: Mapping[str, Any] = {column: row[column] for column in columns}
    return found, lines


async def rma_order_values(
    uow: UnitOfWork, caller: Caller, rma_id: str, columns: tuple[str, ...], *, alone: bool = False
) -> Mapping[str, Any] | None:
    """These columns of an RMA order (``alone``: the operation reads nothing else; the RMA
    order its change wrote is answered from the revision it kept)."""
    if alone and (written := _written_values(caller, rma_id, columns)) is not None:
        return written[0]
    if alone:
        async with uow.one_statement_reader() as reader:
            return await plan_reads.rma_order(reader, caller, rma_id, columns, alone=True)
    async with uow.read() as conn:
        return await plan_reads.rma_order(conn, caller, rma_id, columns)


async def rma_order_with_line_values(
    uow: UnitOfWork, caller: Caller, rma_id: str, columns: tuple[str, ...], line_columns: tuple[str, ...]
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
    """An RMA order and its lines in one statement: for an operation that reads nothing else
    (the RMA order its change wrote: from the revision it kept)."""
    written = _written_values(caller, rma_id, columns, line_columns)
    if written is not None:
        return written[0], written[1]
    async with uow.one_statement_reader() as reader:
        return await plan_reads.rma_order_with_lines(reader, caller, rma_id, columns, line_columns)


async def rma_order_page_values(
    uow: UnitOfWork,
    caller: Caller,
    f: RmaOrderFilter,
    columns: tuple[str, ...],
    *,
    first: int,
    after: str | None,
    sort: str,
) -> Page[Mapping[str, Any]]:
    """A page as ``list_rma_orders`` reads it (same checks, same refusals), of these columns."""
    check_first(first)
    position = decode_cursor(sort, after)
    async with uow.read() as conn:
        rows, has_next_page = await plan_reads.rma_order_page(
            conn, caller, f, columns, first=first, after=position, sort=sort
        )
    return Page(
        rows=rows, has_next_page=has_next_page, has_previous_page=after is not None, found=rows, sort=sort
    )


async def rma_order_page_with_line_values(
    uow: UnitOfWork,
    caller: Caller,
    f: RmaOrderFilter,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...],
    *,
    first: int,
    after: str | None,
    sort: str,
) -> tuple[Page[Mapping[str, Any]], list[list[Mapping[str, Any]]]]:
    """A page and its RMA orders' lines in one statement: for an operation that reads nothing else."""
    check_first(first)
    position = decode_cursor(sort, after)
    async with uow.one_statement_reader() as reader:
        found, has_next_page = await plan_reads.rma_order_page_with_lines(
            reader, caller, f, columns, line_columns, first=first, after=position, sort=sort
        )
    rows = [row for row, _ in found]
    page = Page(
        rows=rows, has_next_page=has_next_page, has_previous_page=after is not None, found=rows, sort=sort
    )
    return page, [lines for _, lines in found]


async def child_values(
    uow: UnitOfWork, caller: Caller, relation: str, keys: Sequence[str | None], columns: tuple[str, ...]
) -> list[list[Mapping[str, Any]]]:
    """These columns of each RMA order's ``relation`` (lines, linked orders, …; its location
    by the RMA orders' ``location_id``) as the caller sees them (a customer: its public
    comments only)."""
    async with uow.read() as conn:
        return await plan_reads.children(
            conn, relation, keys, columns, customer=caller.customer_id is not None
        )
