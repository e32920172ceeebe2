"""The event log's read side: the organization's position, event pages, the events a sender
turns into deliveries, and revisions."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import rows_by_keys
from rma_graphql.db.revisions import Revision, revision_as_kept, revision_from_state
from rma_graphql.domain.criteria import FOR_CUSTOMER, EventFilter

Row = Mapping[Any, Any]


def _conditions(organization_id: str, f: EventFilter) -> list[ColumnElement[bool]]:
    c = t.rma_order_event.c
    conditions: list[ColumnElement[bool]] = [c.organization_id == organization_id]
    if f.rma_order_id is not None:
        conditions.append(c.rma_order_id == f.rma_order_id)
    if f.types:
        conditions.append(c.type.in_(sorted(f.types)))
    if f.customer_id is not None:
        conditions.append(c.customer_id == f.customer_id)
        conditions.append(or_(c.visibility.is_(None), c.visibility == FOR_CUSTOMER))
    return conditions


def _events(organization_id: str, after: int | None, f: EventFilter) -> Select[Any]:
    c = t.rma_order_event.c
    query = select(t.rma_order_event).where(*_conditions(organization_id, f))
    if after is not None:
        query = query.where(c.position > after)
    return query.order_by(c.position)


async def last_position(conn: AsyncConnection, organization_id: str) -> int:
    result = await conn.execute(
        select(t.organization.c.last_event_position).where(t.organization.c.id == organization_id)
    )
    return int(result.scalar_one_or_none() or 0)


async def position_through_version(conn: AsyncConnection, rma_id: str, version: int) -> tuple[int, int]:
    """The position of the RMA order's last event of ``version`` or an earlier one (0 when
    it has none: the changes after that version are its events after this position), and
    the RMA order's last version."""
    c = t.rma_order_event.c
    query = select(
        func.max(case((c.version <= version, c.position))), func.coalesce(func.max(c.version), 0)
    ).where(c.rma_order_id == rma_id)
    position, last = (await conn.execute(query)).one()
    return int(position or 0), int(last)


async def events(
    conn: AsyncConnection, organization_id: str, f: EventFilter, *, after: int | None, limit: int
) -> list[Row]:
    """The matching events after a position, in position order, at most ``limit``."""
    result = await conn.execute(_events(organization_id, after, f).limit(limit))
    return list(result.mappings().all())


async def count(conn: AsyncConnection, organization_id: str, f: EventFilter) -> int:
    query = select(func.count()).select_from(t.rma_order_event).where(*_conditions(organization_id, f))
    return int((await conn.execute(query)).scalar_one())


async def revisions_from(conn: AsyncConnection, rma_id: str, first: int, count: int) -> dict[int, Revision]:
    """The revisions of versions ``first`` to ``first + count - 1`` that exist (one range of
    the RMA order's own index)."""
    revision = t.rma_order_revision
    result = await conn.execute(
        select(revision.c.version, revision.c.state).where(
            revision.c.rma_order_id == rma_id,
            revision.c.version >= first,
            revision.c.version < first + count,
        )
    )
    return {row.version: revision_from_state(row.state) for row in result}


async def events_between(
    conn: AsyncConnection, organization_id: str, after: int, upto: int, limit: int
) -> list[Row]:
    """The organization's events in (after, upto], in position order, at most ``limit`` (what
    the webhook and notification senders turn into deliveries)."""
    event = t.rma_order_event
    query = (
        select(event)
        .where(event.c.organization_id == organization_id, event.c.position > after, event.c.position <= upto)
        .order_by(event.c.position)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def revisions_of(
    conn: AsyncConnection, pairs: Sequence[tuple[str, int]], *, as_kept: bool = False
) -> dict[tuple[str, int], Revision]:
    """The RMA orders as of these (id, version) pairs (``as_kept``: their columns not
    converted, see ``revision_as_kept``)."""
    if not pairs:
        return {}
    found = await rows_by_keys(
        conn, t.rma_order_revision, ("rma_order_id", "version"), pairs, ("rma_order_id", "version", "state")
    )
    make = revision_as_kept if as_kept else revision_from_state
    return {(row["rma_order_id"], row["version"]): make(row["state"]) for row in found}
