"""Every statement of email notifications: templates, rules, the cursor over each
organization's event log, the deliveries and their leases, and what a mail is made of."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import conflict_insert, insert_rows
from rma_graphql.db.driver import one_of
from rma_graphql.db.webhook_repository import created_before

Row = Mapping[Any, Any]
template_table = t.notification_template
rule_table = t.notification_rule
cursor_table = t.notification_cursor
delivery_table = t.notification_delivery


def _one_of(conn: AsyncConnection, column: Any) -> Any:
    """``column`` is one of the list bound as ``keys`` (one statement for any number of
    them on PostgreSQL: a round's hundreds of RMA orders or addresses)."""
    return one_of(conn.dialect.name, column, "keys")


async def _one(conn: AsyncConnection, table: Any, organization_id: str, row_id: str) -> Row | None:
    query = select(table).where(table.c.id == row_id, table.c.organization_id == organization_id)
    return (await conn.execute(query)).mappings().first()


async def _change(
    conn: AsyncConnection, table: Any, organization_id: str, row_id: str, values: Mapping[str, Any]
) -> bool:
    statement = update(table).where(table.c.id == row_id, table.c.organization_id == organization_id)
    return bool((await conn.execute(statement.values(**values))).rowcount)


async def _remove(conn: AsyncConnection, table: Any, organization_id: str, row_id: str) -> bool:
    statement = delete(table).where(table.c.id == row_id, table.c.organization_id == organization_id)
    return bool((await conn.execute(statement)).rowcount)


# Templates and rules


async def add_template(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(template_table).values(**values))


async def template(conn: AsyncConnection, organization_id: str, template_id: str) -> Row | None:
    return await _one(conn, template_table, organization_id, template_id)


async def templates(
    conn: AsyncConnection, organization_id: str, ids: Sequence[str] | None = None
) -> list[Row]:
    query = select(template_table).where(template_table.c.organization_id == organization_id)
    if ids is not None:
        query = query.where(template_table.c.id.in_(list(ids)))
    return list((await conn.execute(query.order_by(template_table.c.key))).mappings().all())


async def update_template(
    conn: AsyncConnection, organization_id: str, template_id: str, values: Mapping[str, Any]
) -> bool:
    return await _change(conn, template_table, organization_id, template_id, values)


async def delete_template(conn: AsyncConnection, organization_id: str, template_id: str) -> bool:
    return await _remove(conn, template_table, organization_id, template_id)


async def rules_using(conn: AsyncConnection, organization_id: str, template_id: str) -> list[str]:
    query = select(rule_table.c.name).where(
        rule_table.c.organization_id == organization_id, rule_table.c.template_id == template_id
    )
    return list((await conn.execute(query)).scalars())


async def add_rule(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(rule_table).values(**values))


async def rule(conn: AsyncConnection, organization_id: str, rule_id: str) -> Row | None:
    return await _one(conn, rule_table, organization_id, rule_id)


async def rules(conn: AsyncConnection, organization_id: str, *, enabled_only: bool = False) -> list[Row]:
    query = select(rule_table).where(rule_table.c.organization_id == organization_id)
    if enabled_only:
        query = query.where(rule_table.c.enabled.is_(True))
    query = query.order_by(rule_table.c.created_at, rule_table.c.id)
    return list((await conn.execute(query)).mappings().all())


async def update_rule(
    conn: AsyncConnection, organization_id: str, rule_id: str, values: Mapping[str, Any]
) -> bool:
    return await _change(conn, rule_table, organization_id, rule_id, values)


async def delete_rule(conn: AsyncConnection, organization_id: str, rule_id: str) -> bool:
    return await _remove(conn, rule_table, organization_id, rule_id)


# The cursor over the event log


async def start_cursor(conn: AsyncConnection, organization_id: str) -> None:
    """Notify from the organization's next event on (a cursor there already stays)."""
    organization = t.organization
    source = select(organization.c.id, organization.c.last_event_position).where(
        organization.c.id == organization_id
    )
    statement = (
        conflict_insert(conn.dialect.name)(cursor_table)
        .from_select(["organization_id", "position"], source)
        .on_conflict_do_nothing(index_elements=["organization_id"])
    )
    await conn.execute(statement)


def _behind() -> Any:
    return (
        select(cursor_table, t.organization.c.last_event_position, t.organization.c.default_language)
        .join(t.organization, t.organization.c.id == cursor_table.c.organization_id)
        .where(cursor_table.c.position < t.organization.c.last_event_position)
    )


async def any_cursor_behind(conn: AsyncConnection) -> bool:
    return (await conn.execute(_behind().limit(1))).first() is not None


async def cursors_behind(conn: AsyncConnection, limit: int) -> list[Row]:
    """Cursors behind their organization's last event position, locked for the transaction;
    on PostgreSQL those another process holds are skipped."""
    query = (
        _behind()
        .order_by(cursor_table.c.organization_id)
        .limit(limit)
        .with_for_update(of=cursor_table, skip_locked=True)
    )
    return list((await conn.execute(query)).mappings().all())


async def move_cursor(conn: AsyncConnection, organization_id: str, position: int) -> None:
    await conn.execute(
        update(cursor_table)
        .where(cursor_table.c.organization_id == organization_id)
        .values(position=position)
    )


# Deliveries


async def add_deliveries(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """New deliveries; one that exists already (same rule, event and recipient) stays."""
    await insert_rows(conn, delivery_table, rows, unless_conflict=("rule_id", "event_id", "recipient"))


def _due(now: datetime) -> Any:
    return (
        delivery_table.c.status == "PENDING",
        or_(delivery_table.c.leased_until.is_(None), delivery_table.c.leased_until < now),
    )


async def next_due(conn: AsyncConnection, now: datetime) -> datetime | None:
    """When the first pending delivery no sender holds is due (None: none is pending)."""
    query = select(func.min(delivery_table.c.next_attempt_at)).where(*_due(now))
    found: datetime | None = (await conn.execute(query)).scalar()
    return found


async def claim_due(conn: AsyncConnection, now: datetime, leased_until: datetime, limit: int) -> list[Row]:
    """Lease up to ``limit`` due deliveries, oldest first; on PostgreSQL rows another process
    is claiming are skipped."""
    due = (
        select(delivery_table.c.id)
        .where(*_due(now), delivery_table.c.next_attempt_at <= now)
        .order_by(delivery_table.c.next_attempt_at, delivery_table.c.event_position)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.id.in_(due.scalar_subquery()))
        .values(leased_until=leased_until)
        .returning(*delivery_table.c)
    )
    return sorted(result.mappings().all(), key=lambda row: (row["event_position"], row["created_at"]))


async def finish(
    conn: AsyncConnection, delivery_id: str, leased_until: datetime, values: Mapping[str, Any]
) -> None:
    """Record an attempt's outcome, unless the delivery was queued again meanwhile."""
    await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.id == delivery_id, delivery_table.c.leased_until == leased_until)
        .values(leased_until=None, attempts=delivery_table.c.attempts + 1, **values)
    )


async def delivery(conn: AsyncConnection, organization_id: str, delivery_id: str) -> Row | None:
    return await _one(conn, delivery_table, organization_id, delivery_id)


async def deliveries(
    conn: AsyncConnection,
    organization_id: str,
    rma_order_id: str | None,
    status: str | None,
    *,
    first: int,
    after: tuple[datetime, str] | None,
) -> list[Row]:
    """A page of deliveries, newest first (``first`` + 1 rows: one more says there is a next
    page)."""
    conditions = [delivery_table.c.organization_id == organization_id, created_before(delivery_table, after)]
    if rma_order_id is not None:
        conditions.append(delivery_table.c.rma_order_id == rma_order_id)
    if status is not None:
        conditions.append(delivery_table.c.status == status)
    query = (
        select(delivery_table)
        .where(*conditions)
        .order_by(delivery_table.c.created_at.desc(), delivery_table.c.id.desc())
        .limit(first + 1)
    )
    return list((await conn.execute(query)).mappings().all())


async def requeue(conn: AsyncConnection, organization_id: str, delivery_id: str, now: datetime) -> bool:
    """Pending again, due now, with a full schedule of attempts before it."""
    result = await conn.execute(
        update(delivery_table)
        .where(delivery_table.c.organization_id == organization_id, delivery_table.c.id == delivery_id)
        .values(status="PENDING", attempts=0, next_attempt_at=now, leased_until=None, completed_at=None)
    )
    return bool(result.rowcount)


# What a mail is made of


async def organization(conn: AsyncConnection, organization_id: str) -> Row | None:
    query = select(t.organization).where(t.organization.c.id == organization_id)
    return (await conn.execute(query)).mappings().first()


async def custom_state_names(conn: AsyncConnection, organization_id: str) -> dict[str, dict[str, str]]:
    state = t.rma_custom_state
    query = select(state.c.code, state.c.names).where(state.c.organization_id == organization_id)
    return {row.code: row.names for row in await conn.execute(query)}


async def latest_shipments(conn: AsyncConnection, rma_order_ids: Sequence[str]) -> dict[str, Row]:
    """Each RMA order's newest return shipment."""
    shipment = t.rma_shipment
    query = select(shipment).where(_one_of(conn, shipment.c.rma_order_id)).order_by(shipment.c.sequence)
    found = await conn.execute(query, {"keys": list(rma_order_ids)})
    return {row["rma_order_id"]: row for row in found.mappings()}


async def user_emails(conn: AsyncConnection, user_ids: Sequence[str]) -> dict[str, str]:
    user = t.app_user
    query = select(user.c.id, user.c.email).where(_one_of(conn, user.c.id))
    return {row.id: row.email for row in await conn.execute(query, {"keys": list(user_ids)})}


async def customer_languages(
    conn: AsyncConnection, organization_id: str, emails: Sequence[str]
) -> dict[str, str]:
    """The language of the organization's catalog customers with these emails (case-folded)."""
    query = customer_languages_query(conn.dialect.name, organization_id)
    found = await conn.execute(query, {"keys": sorted({email.lower() for email in emails})})
    return {row.email.lower(): row.language for row in found}


def customer_languages_query(dialect: str, organization_id: str) -> Any:
    """The organization's customers whose case-folded email is one of ``keys`` (served by
    ``ix_customer_email``)."""
    customer = t.customer
    return select(customer.c.email, customer.c.language).where(
        customer.c.organization_id == organization_id,
        one_of(dialect, func.lower(customer.c.email), "keys"),
        customer.c.language.is_not(None),
    )


async def vouchers(conn: AsyncConnection, resolution_ids: Sequence[str]) -> dict[str, Row]:
    """The vouchers these financial resolutions issued, by resolution."""
    voucher = t.voucher
    query = select(voucher).where(_one_of(conn, voucher.c.resolution_id))
    found = await conn.execute(query, {"keys": list(resolution_ids)})
    return {row["resolution_id"]: row for row in found.mappings()}


async def rma_version(conn: AsyncConnection, organization_id: str, rma_order_id: str) -> int | None:
    order = t.rma_order
    query = select(order.c.version).where(
        order.c.id == rma_order_id, order.c.organization_id == organization_id
    )
    found: int | None = (await conn.execute(query)).scalar()
    return found


async def last_event(conn: AsyncConnection, rma_order_id: str) -> Row | None:
    event = t.rma_order_event
    query = (
        select(event).where(event.c.rma_order_id == rma_order_id).order_by(event.c.sequence.desc()).limit(1)
    )
    return (await conn.execute(query)).mappings().first()
