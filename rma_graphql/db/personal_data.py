"""The rows that hold a person's data, found and rewritten (customerErase, rmaOrderAnonymize)."""

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.domain.personal_data import Scrubber

Row = RowMapping

# Per table of an RMA order's rows: the columns that may hold a copy of personal data.
RMA_COLUMNS: dict[str, tuple[str, ...]] = {
    "rma_order": (
        "sender",
        "delivery_contact",
        "owner",
        "billing_contact",
        "comment",
        "meta",
        "return_window_override_reason",
    ),
    "rma_order_search": ("search_text",),
    "rma_order_line": ("comment", "pictures"),
    "rma_line_inspection": ("notes", "inspector"),
    "rma_order_event": ("comment", "data", "actor"),
    "rma_order_revision": ("state",),
    "rma_order_comment": ("text", "author"),
    "rma_shipment_event": ("message", "location"),
    "rma_financial_resolution": ("failure_reason",),
    "webhook_delivery": ("body",),
    "notification_delivery": ("recipient", "subject", "text_body", "html_body", "last_error"),
}
UPLOAD_KEY = re.compile(r"/uploads/([0-9a-f-]{36}\.[a-z]{3,4})")


async def _scrub(
    conn: AsyncConnection, table: Table, columns: Sequence[str], where: Any, scrubber: Scrubber
) -> int:
    """Rewrite the rows ``where`` selects, each column scrubbed; how many rows changed."""
    keys = list(table.primary_key.columns)
    found = (
        (await conn.execute(select(*keys, *(table.c[name] for name in columns)).where(where)))
        .mappings()
        .all()
    )
    changed = 0
    for row in found:
        values = {name: scrubber.any(row[name]) for name in columns if row[name] is not None}
        values = {name: value for name, value in values.items() if value != row[name]}
        if values:
            changed += 1
            await conn.execute(update(table).where(*(key == row[key.name] for key in keys)).values(**values))
    return changed


async def scrub_rmas(
    conn: AsyncConnection, organization_id: str, rma_ids: Collection[str], scrubber: Scrubber
) -> None:
    """Every copy of the values in the rows of these RMA orders and their webhook and
    notification deliveries (the stored answers: ``scrub_answers``)."""
    ids = list(rma_ids)
    for name, columns in RMA_COLUMNS.items():
        table = t.metadata.tables[name]
        owner = table.c.id if name == "rma_order" else table.c.rma_order_id
        await _scrub(
            conn, table, columns, (table.c.organization_id == organization_id) & owner.in_(ids), scrubber
        )
    deliveries = select(t.webhook_delivery.c.id).where(t.webhook_delivery.c.rma_order_id.in_(ids))
    attempt = t.webhook_attempt
    await _scrub(conn, attempt, ("error", "response_body"), attempt.c.delivery_id.in_(deliveries), scrubber)


async def scrub_answers(conn: AsyncConnection, organization_id: str, scrubber: Scrubber) -> None:
    """The stored answers of the organization's idempotency keys (any may show the values)."""
    k = t.idempotency_key
    where = (k.c.organization_id == organization_id) & k.c.response.is_not(None)
    await _scrub(conn, k, ("response",), where, scrubber)


async def rma_rows(conn: AsyncConnection, organization_id: str, rma_ids: Collection[str]) -> list[Row]:
    o = t.rma_order.c
    query = select(t.rma_order).where(o.organization_id == organization_id, o.id.in_(list(rma_ids)))
    return list((await conn.execute(query)).mappings().all())


async def free_texts(conn: AsyncConnection, rma_ids: Collection[str]) -> set[str]:
    """The free text of these RMA orders: comments, reasons given to actions, line comments,
    inspection notes (a custom state's code, in its event's comment, is not free text)."""
    ids = list(rma_ids)
    e, c, line, i = t.rma_order_event.c, t.rma_order_comment.c, t.rma_order_line.c, t.rma_line_inspection.c
    queries = [
        select(e.comment).where(
            e.rma_order_id.in_(ids), e.comment.is_not(None), e.type != "CUSTOM_STATE_CHANGED"
        ),
        select(c.text).where(c.rma_order_id.in_(ids)),
        select(line.comment).where(line.rma_order_id.in_(ids), line.comment.is_not(None)),
        select(i.notes).where(i.rma_order_id.in_(ids), i.notes.is_not(None)),
    ]
    found: set[str] = set()
    for query in queries:
        found |= {str(value) for value in (await conn.execute(query)).scalars().all()}
    return found


async def pictures(conn: AsyncConnection, rma_ids: Collection[str]) -> set[str]:
    """The links of the pictures of these RMA orders' lines."""
    line = t.rma_order_line.c
    found = (await conn.execute(select(line.pictures).where(line.rma_order_id.in_(list(rma_ids))))).scalars()
    return {str(url) for urls in found for url in urls or []}


def upload_keys(links: Collection[str]) -> set[str]:
    """The uploads these links lead to."""
    return {key for link in links for key in UPLOAD_KEY.findall(link)}


async def forget_uploads(conn: AsyncConnection, organization_id: str, keys: Collection[str]) -> list[str]:
    """Delete the records of these uploads; the keys there were."""
    u = t.upload.c
    query = delete(t.upload).where(u.organization_id == organization_id, u.id.in_(list(keys))).returning(u.id)
    return list((await conn.execute(query)).scalars().all())


async def customer(conn: AsyncConnection, organization_id: str, customer_id: str) -> Row | None:
    c = t.customer.c
    query = select(t.customer).where(c.organization_id == organization_id, c.id == customer_id)
    return (await conn.execute(query)).mappings().first()


async def linked_users(conn: AsyncConnection, organization_id: str, customer_id: str) -> list[Row]:
    u = t.app_user.c
    query = select(t.app_user).where(u.organization_id == organization_id, u.customer_id == customer_id)
    return list((await conn.execute(query)).mappings().all())


async def orders_of(conn: AsyncConnection, organization_id: str, customer_id: str) -> list[str]:
    s = t.sales_order.c
    query = select(s.id).where(s.organization_id == organization_id, s.customer_id == customer_id)
    return list((await conn.execute(query)).scalars().all())


async def rmas_of(
    conn: AsyncConnection,
    organization_id: str,
    user_ids: Sequence[str],
    order_ids: Sequence[str],
    emails: Collection[str],
) -> list[str]:
    """The RMA orders a person made (as a user), of the person's orders, or sent by its email."""
    o, linked, search = t.rma_order.c, t.rma_linked_order.c, t.rma_order_search.c
    of_orders = (
        await conn.execute(
            select(linked.rma_order_id).where(
                linked.organization_id == organization_id, linked.order_id.in_(list(order_ids))
            )
        )
    ).scalars()
    linked_ids = {str(rma_id) for rma_id in of_orders}
    conditions: list[ColumnElement[bool]] = [o.customer_id.in_(list(user_ids)), o.id.in_(list(linked_ids))]
    # The search text finds the RMA orders sent from the person's email (by its index)…
    if emails:
        sent_from = [func.lower(search.search_text).contains(email.casefold()) for email in emails]
        of_organization = search.organization_id == organization_id
        conditions.append(o.id.in_(select(search.rma_order_id).where(of_organization, or_(*sent_from))))
    query = select(o.id, o.customer_id, o.sender).where(
        o.organization_id == organization_id, or_(*conditions)
    )
    found = []
    for row in (await conn.execute(query)).mappings().all():
        sender_email = str((row["sender"] or {}).get("email") or "").casefold()
        # … but may match another's: a sender's email must be the person's.
        if row["customer_id"] in user_ids or sender_email in emails or row["id"] in linked_ids:
            found.append(str(row["id"]))
    return found


async def erase_customer_rows(
    conn: AsyncConnection,
    organization_id: str,
    customer_id: str,
    users: Sequence[Mapping[Any, Any]],
    marker: str,
    now: datetime,
) -> None:
    """The customer, its users (deactivated, their tokens ended, their resets forgotten) and
    its orders' search text."""
    c = t.customer.c
    await conn.execute(
        update(t.customer)
        .where(c.organization_id == organization_id, c.id == customer_id)
        .values(name=marker, email=marker, phone=None, address=None, search_text=marker)
    )
    for user in users:
        name = f"erased-{user['id']}"
        await conn.execute(
            update(t.app_user)
            .where(t.app_user.c.id == user["id"])
            .values(
                username=name,
                username_key=name,
                email=marker,
                password_hash="!",
                active=False,
                tokens_valid_after=now,
                kept_token_id=None,
            )
        )
    ids = [user["id"] for user in users]
    await conn.execute(delete(t.password_reset).where(t.password_reset.c.user_id.in_(ids)))
    s = t.sales_order.c
    await conn.execute(
        update(t.sales_order)
        .where(s.organization_id == organization_id, s.customer_id == customer_id)
        .values(search_text=s.external_reference)
    )


async def scrub_mails_to(
    conn: AsyncConnection, organization_id: str, emails: Collection[str], scrubber: Scrubber
) -> None:
    """The mails sent to these addresses (account mails have no RMA order)."""
    d = t.notification_delivery
    where = (d.c.organization_id == organization_id) & func.lower(d.c.recipient).in_(list(emails))
    await _scrub(conn, d, RMA_COLUMNS["notification_delivery"], where, scrubber)


# What an export of a customer holds of its RMA orders.
EXPORTED_RMA_TABLES = (
    "rma_order",
    "rma_order_line",
    "rma_linked_order",
    "rma_order_event",
    "rma_order_comment",
    "rma_shipment",
    "rma_shipment_event",
    "rma_financial_resolution",
    "rma_line_inspection",
    "voucher",
)


async def rows_by(
    conn: AsyncConnection, table: Table, column: str, values: Collection[str]
) -> list[dict[str, Any]]:
    """The rows whose ``column`` is one of ``values``, in the table's key order."""
    if not values:
        return []
    query = select(table).where(table.c[column].in_(list(values))).order_by(*table.primary_key.columns)
    return [dict(row) for row in (await conn.execute(query)).mappings().all()]


async def mails_to(
    conn: AsyncConnection, organization_id: str, emails: Collection[str]
) -> list[dict[str, Any]]:
    d = t.notification_delivery.c
    query = (
        select(d.recipient, d.subject, d.text_body, d.status, d.created_at)
        .where(d.organization_id == organization_id, func.lower(d.recipient).in_(list(emails)))
        .order_by(d.created_at, d.id)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings().all()]
