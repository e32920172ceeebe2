"""The event log's read side: the change feed, replay pages, revisions and comments."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from rma_graphql.db import tables as t
from rma_graphql.db.revisions import Revision as Revision  # answered by revisions(): the API reads it
from rma_graphql.db.revisions import revision_from_state
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import CommentVisibility
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]
MAX_FEED_PAGE = 1000
_POSITION_DIGITS = 12


def format_position(position: int) -> str:
    """A position as its resume token: fixed width, so tokens also sort as text."""
    return f"{position:0{_POSITION_DIGITS}d}"


def parse_position(token: str, field: str) -> int:
    if not (token.isascii() and token.isdigit() and len(token) == _POSITION_DIGITS):
        raise BadUserInputError("The position is not one this API issued.", field)
    return int(token)


# The comments a customer sees; other events have no visibility and every reader sees them.
FOR_CUSTOMER = CommentVisibility.CUSTOMER.value


@dataclass(frozen=True)
class EventFilter:
    """Which events a reader gets. A customer's filter names it: it sees the events of its
    own RMA orders only, and never an INTERNAL comment's."""

    rma_order_id: str | None = None
    types: frozenset[str] | None = None
    customer_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = t.rma_order_event.c
        conditions: list[ColumnElement[bool]] = []
        if self.rma_order_id is not None:
            conditions.append(c.rma_order_id == self.rma_order_id)
        if self.types:
            conditions.append(c.type.in_(sorted(self.types)))
        if self.customer_id is not None:
            conditions.append(c.customer_id == self.customer_id)
            conditions.append(or_(c.visibility.is_(None), c.visibility == FOR_CUSTOMER))
        return conditions

    def matches(self, row: Row) -> bool:
        if self.rma_order_id is not None and row["rma_order_id"] != self.rma_order_id:
            return False
        if self.customer_id is not None and (
            row["customer_id"] != self.customer_id or row["visibility"] not in (None, FOR_CUSTOMER)
        ):
            return False
        return not self.types or row["type"] in self.types


async def current_position(uow: UnitOfWork, organization_id: str) -> int:
    async with uow.read() as conn:
        return await _last_position(conn, organization_id)


async def _last_position(conn: Any, organization_id: str) -> int:
    result = await conn.execute(
        select(t.organization.c.last_event_position).where(t.organization.c.id == organization_id)
    )
    return int(result.scalar_one_or_none() or 0)


def _events(organization_id: str, after: int | None, f: EventFilter) -> Select[Any]:
    c = t.rma_order_event.c
    query = select(t.rma_order_event).where(c.organization_id == organization_id, *f.conditions())
    if after is not None:
        query = query.where(c.position > after)
    return query.order_by(c.position)


async def events_after(uow: UnitOfWork, organization_id: str, after: int, limit: int) -> list[Row]:
    """The organization's events after a position, all of them, in position order."""
    async with uow.read() as conn:
        result = await conn.execute(_events(organization_id, after, EventFilter()).limit(limit))
        return list(result.mappings().all())


async def replay_page(
    uow: UnitOfWork, organization_id: str, after: int, f: EventFilter, limit: int
) -> tuple[list[Row], int]:
    """The matching events after a position, and a position the page is complete up to.

    The organization's last position is read before the events: every event at or below
    it had committed by then, so a short page has seen all matching events up to it.
    """
    async with uow.read() as conn:
        high = await _last_position(conn, organization_id)
        result = await conn.execute(_events(organization_id, after, f).limit(limit))
        rows: list[Row] = list(result.mappings().all())
    last = int(rows[-1]["position"]) if rows else after
    return rows, last if len(rows) == limit else max(high, last)


@dataclass
class FeedPage:
    rows: list[Row]
    has_next_page: bool
    total_count: int


async def feed(
    uow: UnitOfWork, organization_id: str, f: EventFilter, *, after: int | None, first: int
) -> FeedPage:
    if first < 0 or first > MAX_FEED_PAGE:
        raise BadUserInputError(f"first must be between 0 and {MAX_FEED_PAGE}.", "first")
    query = _events(organization_id, after, f).limit(first + 1)
    count = (
        select(func.count())
        .select_from(t.rma_order_event)
        .where(t.rma_order_event.c.organization_id == organization_id, *f.conditions())
    )
    async with uow.read() as conn:
        total = int((await conn.execute(count)).scalar_one())
        rows: list[Row] = list((await conn.execute(query)).mappings().all())
    return FeedPage(rows=rows[:first], has_next_page=len(rows) > first, total_count=total)


async def revisions(uow: UnitOfWork, rma_id: str, versions: Sequence[int]) -> dict[int, Revision]:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.rma_order_revision.c.version, t.rma_order_revision.c.state).where(
                t.rma_order_revision.c.rma_order_id == rma_id,
                t.rma_order_revision.c.version.in_(list(versions)),
            )
        )
        return {row.version: revision_from_state(row.state) for row in result}
