"""Many rows in one statement (db/bulk.py), on the test run's database: an insert of rows
that leaves out those repeating a unique key, and a read by a list of composite keys that
gives exactly the pairs asked for, not every combination of their parts."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import insert_rows, rows_by_keys

WHEN = datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=UTC)


def _delivery(organization_id: str, event_id: str, recipient: str, subject: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "organization_id": organization_id,
        "rule_id": "rule-1",
        "template_key": "received",
        "event_id": event_id,
        "event_type": "RMA_ORDER_RECEIVED",
        "event_position": 7,
        "rma_order_id": "rma-1",
        "recipient": recipient,
        "recipient_kind": "SENDER",
        "language": "fr",
        "subject": subject,
        "text_body": "Bonjour",
        "html_body": "<p>Bonjour</p>",
        # Settled: no notification sender of another test on this database sends it.
        "status": "FAILED",
        "attempts": 0,
        "next_attempt_at": WHEN,
        "leased_until": None,
        "last_error": None,
        "created_at": WHEN - timedelta(seconds=1),
        "completed_at": None,
    }


async def test_insert_rows_leaves_out_a_row_that_repeats_the_unique_key(
    engine: AsyncEngine, organization_id: str
) -> None:
    event = str(uuid.uuid4())
    first = [_delivery(organization_id, event, f"{who}@example.com", "first") for who in ("ada", "bob")]
    again = [
        _delivery(organization_id, event, "ada@example.com", "second"),  # same rule, event, recipient
        _delivery(organization_id, event, "cy@example.com", "second"),
    ]
    unique = ("rule_id", "event_id", "recipient")
    async with engine.begin() as conn:
        await insert_rows(conn, t.notification_delivery, first, unless_conflict=unique)
        await insert_rows(conn, t.notification_delivery, again, unless_conflict=unique)
        await insert_rows(conn, t.notification_delivery, [], unless_conflict=unique)
    delivery = t.notification_delivery.c
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(delivery.recipient, delivery.subject, delivery.next_attempt_at, delivery.leased_until)
                .where(delivery.event_id == event)
                .order_by(delivery.recipient)
            )
        ).all()
    assert [(row.recipient, row.subject) for row in found] == [
        ("ada@example.com", "first"),
        ("bob@example.com", "first"),
        ("cy@example.com", "second"),
    ]
    # Every column arrives as given, times with their instant and NULLs as NULL.
    assert {row.next_attempt_at for row in found} == {WHEN}
    assert {row.leased_until for row in found} == {None}


async def test_rows_by_keys_gives_the_pairs_asked_for_and_no_other_combination(
    engine: AsyncEngine, organization_id: str
) -> None:
    messages = [
        {
            "organization_id": organization_id,
            "event_type": kind,
            "language": language,
            "text": f"{kind} {language}",
        }
        for kind in ("RMA_ORDER_ACCEPTED", "RMA_ORDER_REJECTED")
        for language in ("en", "fr")
    ]
    async with engine.begin() as conn:
        await insert_rows(conn, t.history_message, messages)
    keys = ("organization_id", "event_type", "language")
    wanted = [
        (organization_id, "RMA_ORDER_ACCEPTED", "en"),
        (organization_id, "RMA_ORDER_REJECTED", "fr"),
        (organization_id, "RMA_ORDER_RECEIVED", "en"),  # none
    ]
    async with engine.connect() as conn:
        found = await rows_by_keys(conn, t.history_message, keys, wanted, ("event_type", "language", "text"))
        nothing = await rows_by_keys(conn, t.history_message, keys, [], ("text",))
    assert sorted(row["text"] for row in found) == ["RMA_ORDER_ACCEPTED en", "RMA_ORDER_REJECTED fr"]
    assert nothing == []
