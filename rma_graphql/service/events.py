"""The event log's read side: the change feed, replay pages, revisions and comments."""

from dataclasses import dataclass

from rma_graphql.db import event_reads
from rma_graphql.db.revisions import Revision
from rma_graphql.domain.criteria import EventFilter as EventFilter  # the API and the hub build it
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service.records import (
    RmaFinancialResolutionRecord,
    RmaLinkedOrderRecord,
    RmaOrderEventRecord,
    RmaOrderLineRecord,
    RmaOrderRecord,
    RmaOrderVersion,
    record,
    records,
)
from rma_graphql.service.unit_of_work import UnitOfWork, written_state

MAX_FEED_PAGE = 1000
_POSITION_DIGITS = 12


def format_position(position: int) -> str:
    """A position as its resume token: fixed width, so tokens also sort as text."""
    return f"{position:0{_POSITION_DIGITS}d}"


def parse_position(token: str, field: str) -> int:
    if not (token.isascii() and token.isdigit() and len(token) == _POSITION_DIGITS):
        raise BadUserInputError("The position is not one this API issued.", field)
    return int(token)


async def current_position(uow: UnitOfWork, organization_id: str) -> int:
    async with uow.read() as conn:
        return await event_reads.last_position(conn, organization_id)


async def position_through_version(uow: UnitOfWork, rma_id: str, version: int, field: str) -> int:
    """Where a replay of the RMA order's changes after ``version`` starts (after the last
    event of that version or an earlier one)."""
    if version < 0:
        raise BadUserInputError("A version is 0 or more (0: every version of the RMA order).", field)
    async with uow.read() as conn:
        position, last = await event_reads.position_through_version(conn, rma_id, version)
    if version > last:
        raise BadUserInputError(f"The RMA order is at version {last}: there is no version {version}.", field)
    return position


async def events_after(
    uow: UnitOfWork, organization_id: str, after: int, limit: int
) -> list[RmaOrderEventRecord]:
    """The organization's events after a position, all of them, in position order."""
    async with uow.read() as conn:
        rows = await event_reads.events(conn, organization_id, EventFilter(), after=after, limit=limit)
    return records(RmaOrderEventRecord, rows)


async def replay_page(
    uow: UnitOfWork, organization_id: str, after: int, f: EventFilter, limit: int
) -> tuple[list[RmaOrderEventRecord], int]:
    """The matching events after a position, and a position the page is complete up to.

    The organization's last position is read before the events: every event at or below
    it had committed by then, so a short page has seen all matching events up to it.
    """
    async with uow.read() as conn:
        high = await event_reads.last_position(conn, organization_id)
        rows = records(
            RmaOrderEventRecord, await event_reads.events(conn, organization_id, f, after=after, limit=limit)
        )
    last = rows[-1].position if rows else after
    return rows, last if len(rows) == limit else max(high, last)


@dataclass
class FeedPage:
    rows: list[RmaOrderEventRecord]
    has_next_page: bool


async def feed(
    uow: UnitOfWork, organization_id: str, f: EventFilter, *, after: int | None, first: int
) -> FeedPage:
    if first < 0 or first > MAX_FEED_PAGE:
        raise BadUserInputError(f"first must be between 0 and {MAX_FEED_PAGE}.", "first")
    async with uow.read() as conn:
        rows = await event_reads.events(conn, organization_id, f, after=after, limit=first + 1)
    return FeedPage(rows=records(RmaOrderEventRecord, rows[:first]), has_next_page=len(rows) > first)


async def count(uow: UnitOfWork, organization_id: str, f: EventFilter) -> int:
    """How many events the filter matches (asked only when a client selects it)."""
    async with uow.read() as conn:
        return await event_reads.count(conn, organization_id, f)


def _version(revision: Revision) -> RmaOrderVersion:
    return RmaOrderVersion(
        row=record(RmaOrderRecord, revision.row),
        lines=records(RmaOrderLineRecord, revision.lines),
        linked_orders=records(RmaLinkedOrderRecord, revision.linked_orders),
        financial_resolutions=records(RmaFinancialResolutionRecord, revision.financial_resolutions),
    )


async def revisions_from(uow: UnitOfWork, rma_id: str, first: int, count: int) -> dict[int, RmaOrderVersion]:
    """The RMA order as each committed version from ``first`` on (at most ``count`` of them)
    was committed: what a subscription replaying versions reads in one statement."""
    async with uow.read() as conn:
        found = await event_reads.revisions_from(conn, rma_id, first, count)
    return {version: _version(revision) for version, revision in found.items()}


def written_revision(rma_id: str) -> RmaOrderVersion | None:
    """The RMA order as the last change of this task committed it, from the state that
    change kept (the same revision ``revisions_from`` reads back, without reading it)."""
    revision = written_state(rma_id)
    return None if revision is None else _version(revision)
