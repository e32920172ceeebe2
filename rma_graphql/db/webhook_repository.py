"""Every statement of webhooks: endpoints, the deliveries derived from the event log, the
senders' leases on them, and the attempts."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import conflict_insert
from rma_graphql.db.driver import Prepared

Row = Mapping[Any, Any]
endpoint_table = t.webhook_endpoint
delivery_table = t.webhook_delivery
attempt_table = t.webhook_attempt


def created_before(table: Any, after: tuple[datetime, str] | None) -> Any:
    """Rows after a (created_at, id) cursor, newest first."""
    if after is None:
        return True
    created_at, row_id = after
    return or_(table.c.created_at < created_at, and_(table.c.created_at == created_at, table.c.id < row_id))


# Endpoints


async def add_endpoint(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(endpoint_table).values(**values))


async def endpoint(
    conn: AsyncConnection, organization_id: str, endpoint_id: str, *, lock: bool = False
) -> Row | None:
    query = select(endpoint_table).where(
        endpoint_table.c.id == endpoint_id, endpoint_table.c.organization_id == organization_id
    )
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def endpoints(
    conn: AsyncConnection, organization_id: str, *, first: int, after: tuple[datetime, str] | None
) -> list[Row]:
    """A page of the organization's endpoints, newest first (``first`` + 1 rows: one more
    says there is a next page)."""
    query = (
        select(endpoint_table)
        .where(endpoint_table.c.organization_id == organization_id, created_before(endpoint_table, after))
        .order_by(endpoint_table.c.created_at.desc(), endpoint_table.c.id.desc())
        .limit(first + 1)
    )
    return list((await conn.execute(query)).mappings().all())


async def update_endpoint(
    conn: AsyncConnection, organization_id: str, endpoint_id: str, values: Mapping[str, Any]
) -> bool:
    result = await conn.execute(
        update(endpoint_table)
        .where(endpoint_table.c.id == endpoint_id, endpoint_table.c.organization_id == organization_id)
        .values(**values)
    )
    return bool(result.rowcount)


async def delete_endpoint(conn: AsyncConnection, organization_id: str, endpoint_id: str) -> bool:
    result = await conn.execute(
        delete(endpoint_table).where(
            endpoint_table.c.id == endpoint_id, endpoint_table.c.organization_id == organization_id
        )
    )
    return bool(result.rowcount)


_ENDPOINT_BEHIND = Prepared(
    lambda dialect: (
        select(endpoint_table.c.id)
        .join(t.organization, t.organization.c.id == endpoint_table.c.organization_id)
        .where(
            endpoint_table.c.enabled.is_(True), endpoint_table.c.cursor < t.organization.c.last_event_position
        )
        .limit(1)
    )
)


async def any_endpoint_behind(conn: AsyncConnection) -> bool:
    """Whether an enabled endpoint has events to derive: one statement, in no transaction of
    its own (PostgreSQL), as the senders ask it at every commit they hear."""
    return bool(await _ENDPOINT_BEHIND.records(conn, begin=False))


_NEXT_DUE = Prepared(
    lambda dialect: select(func.min(delivery_table.c.next_attempt_at).label("due")).where(
        delivery_table.c.status == "PENDING",
        or_(
            delivery_table.c.leased_until.is_(None),
            delivery_table.c.leased_until < bindparam("now", type_=delivery_table.c.leased_until.type),
        ),
    )
)


async def next_due(conn: AsyncConnection, now: datetime) -> datetime | None:
    """When the first pending delivery no sender holds is due (None: none is pending)."""
    found: datetime | None = (await _NEXT_DUE.rows(conn, begin=False, now=now))[0]["due"]
    return found


async def endpoints_behind(conn: AsyncConnection, limit: int) -> list[Row]:
    """Enabled endpoints whose cursor is behind their organization's last event position,
    locked for the transaction; on PostgreSQL endpoints another process holds are skipped."""
    query = (
        select(endpoint_table, t.organization.c.last_event_position)
        .join(t.organization, t.organization.c.id == endpoint_table.c.organization_id)
        .where(
            endpoint_table.c.enabled.is_(True), endpoint_table.c.cursor < t.organization.c.last_event_position
        )
        .order_by(endpoint_table.c.id)
        .limit(limit)
        .with_for_update(of=endpoint_table, skip_locked=True)
    )
    return list((await conn.execute(query)).mappings().all())


# Deliveries


async def add_deliveries(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """New deliveries; one that exists already (same endpoint and event) is left as it is.
    The ids of those added."""
    if not rows:
        return set()
    statement = (
        conflict_insert(conn.dialect.name)(delivery_table)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(delivery_table.c.id)
    )
    result = await conn.execute(statement, [dict(row) for row in rows])
    return set(result.scalars())


async def claim_due(
    conn: AsyncConnection, now: datetime, leased_until: datetime, limit: int, busy: Sequence[str]
) -> list[Row]:
    """Lease up to ``limit`` pending deliveries that are due, not leased, and not for an
    endpoint in ``busy``: the oldest due first, in position order. On PostgreSQL rows another
    process is claiming are skipped."""
    due = (
        select(delivery_table.c.id)
        .where(
            delivery_table.c.status == "PENDING",
            delivery_table.c.next_attempt_at <= now,
            or_(delivery_table.c.leased_until.is_(None), delivery_table.c.leased_until < now),
        )
        .order_by(delivery_table.c.next_attempt_at, delivery_table.c.event_position)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if busy:
        due = due.where(delivery_table.c.endpoint_id.not_in(list(busy)))
    # A disabled endpoint's deliveries wait for it to be enabled again; a ping goes anyway.
    enabled = select(endpoint_table.c.id).where(endpoint_table.c.enabled.is_(True))
    due = due.where(or_(delivery_table.c.endpoint_id.in_(enabled), delivery_table.c.event_type == "PING"))
    result = await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.id.in_(due.scalar_subquery()))
        .values(leased_until=leased_until)
        .returning(*delivery_table.c)
    )
    return sorted(result.mappings().all(), key=lambda row: (row["event_position"] or 0, row["created_at"]))


async def finish_delivery(
    conn: AsyncConnection, delivery_id: str, leased_until: datetime, values: Mapping[str, Any]
) -> None:
    """Record an attempt's outcome, unless the delivery was queued again meanwhile (a retry
    or a replay asked for while it was being sent: that request stands)."""
    await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.id == delivery_id, delivery_table.c.leased_until == leased_until)
        .values(leased_until=None, **values)
    )


async def succeed(
    conn: AsyncConnection, delivery_ids: Sequence[str], leased_until: datetime, now: datetime
) -> None:
    """These deliveries, leased until ``leased_until``, were answered with a 2xx: done, one
    attempt more (those queued again meanwhile stay queued)."""
    if delivery_ids:
        await conn.execute(
            update(delivery_table)
            .where(delivery_table.c.id.in_(list(delivery_ids)), delivery_table.c.leased_until == leased_until)
            .values(
                status="SUCCEEDED",
                attempts=delivery_table.c.attempts + 1,
                next_attempt_at=None,
                completed_at=now,
                leased_until=None,
            )
        )


async def add_attempts(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(attempt_table), [dict(row) for row in rows])


async def release(conn: AsyncConnection, delivery_ids: Sequence[str]) -> None:
    """Give back the leases of deliveries not sent (another sender may take them now)."""
    if delivery_ids:
        await conn.execute(
            update(delivery_table)
            .where(delivery_table.c.id.in_(list(delivery_ids)))
            .values(leased_until=None)
        )


async def count_endpoint_outcome(
    conn: AsyncConnection, endpoint_id: str, failed: int, succeeded: bool
) -> int:
    """Add ``failed`` FAILED deliveries to the endpoint's consecutive failures (a success
    since starts the count again); the count after."""
    column = endpoint_table.c.consecutive_failures
    result = await conn.execute(
        update(endpoint_table)
        .where(endpoint_table.c.id == endpoint_id)
        .values(consecutive_failures=(failed if succeeded else column + failed))
        .returning(column)
    )
    return int(result.scalar_one_or_none() or 0)


async def disable_endpoint(conn: AsyncConnection, endpoint_id: str, reason: str, now: datetime) -> None:
    await conn.execute(
        update(endpoint_table)
        .where(endpoint_table.c.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )


async def delivery(conn: AsyncConnection, organization_id: str, delivery_id: str) -> Row | None:
    query = select(delivery_table).where(
        delivery_table.c.id == delivery_id, delivery_table.c.organization_id == organization_id
    )
    return (await conn.execute(query)).mappings().first()


async def deliveries(
    conn: AsyncConnection,
    organization_id: str,
    endpoint_id: str,
    status: str | None,
    *,
    first: int,
    after: tuple[datetime, str] | None,
) -> list[Row]:
    """A page of an endpoint's deliveries, newest first (``first`` + 1 rows)."""
    conditions = [
        delivery_table.c.organization_id == organization_id,
        delivery_table.c.endpoint_id == endpoint_id,
        created_before(delivery_table, after),
    ]
    if status is not None:
        conditions.append(delivery_table.c.status == status)
    query = (
        select(delivery_table)
        .where(*conditions)
        .order_by(delivery_table.c.created_at.desc(), delivery_table.c.id.desc())
        .limit(first + 1)
    )
    return list((await conn.execute(query)).mappings().all())


async def attempts(conn: AsyncConnection, delivery_ids: Sequence[str]) -> list[Row]:
    query = (
        select(attempt_table)
        .where(attempt_table.c.delivery_id.in_(list(delivery_ids)))
        .order_by(attempt_table.c.attempted_at, attempt_table.c.id)
    )
    return list((await conn.execute(query)).mappings().all())


async def requeue(
    conn: AsyncConnection, organization_id: str, conditions: Sequence[Any], now: datetime
) -> int:
    """Pending again, due now, with a full schedule of attempts before it."""
    result = await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.organization_id == organization_id, *conditions)
        .values(status="PENDING", attempts=0, next_attempt_at=now, leased_until=None, completed_at=None)
    )
    return int(result.rowcount)


async def requeue_delivery(
    conn: AsyncConnection, organization_id: str, delivery_id: str, now: datetime
) -> bool:
    return bool(await requeue(conn, organization_id, [delivery_table.c.id == delivery_id], now))


async def requeue_from(
    conn: AsyncConnection, organization_id: str, endpoint_id: str, position: int, now: datetime
) -> int:
    """Deliver again the endpoint's deliveries of events from ``position`` on."""
    conditions = [delivery_table.c.endpoint_id == endpoint_id, delivery_table.c.event_position >= position]
    return await requeue(conn, organization_id, conditions, now)


# What a delivery's body is made of


async def events_by_id(conn: AsyncConnection, event_ids: Sequence[str]) -> dict[str, Row]:
    event = t.rma_order_event
    result = await conn.execute(select(event).where(event.c.id.in_(list(event_ids))))
    return {row["id"]: row for row in result.mappings()}
