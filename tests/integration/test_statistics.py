"""Which columns ANALYZE gathers statistics for (PostgreSQL): none for the JSON documents and
free texts no query filters, joins or sorts on (migration 0031), every other column as
PostgreSQL's default target says."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import DATABASE, GraphQLClient
from tests.helpers import create

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="PostgreSQL's statistics targets")

UNFILTERED = {
    "rma_order": {
        "delivery_contact",
        "sender",
        "owner",
        "billing_contact",
        "comment",
        "meta",
        "policy",
        "refund_terms",
    },
    "rma_order_line": {"comment", "pictures", "received_serial_numbers"},
    "rma_order_event": {"changes", "actor", "comment", "data"},
    "rma_order_comment": {"text", "author"},
    "notification_delivery": {"subject", "text_body", "html_body", "last_error"},
    "webhook_delivery": {"body"},
    "webhook_attempt": {"response_body"},
}


async def test_only_the_unfiltered_columns_have_no_statistics_target(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT c.relname, a.attname, coalesce(a.attstattarget, -1) AS target, "
                "format_type(a.atttypid, NULL) AS type "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE c.relname = ANY(:tables) AND c.relkind = 'r' AND a.attnum > 0 "
                "AND NOT a.attisdropped"
            ),
            {"tables": list(UNFILTERED)},
        )
        rows = found.all()
        targets = {(row.relname, row.attname): row.target for row in rows}
        documents = {(row.relname, row.attname) for row in rows if row.type in ("json", "jsonb")}

    assert {table for table, _ in targets} == set(UNFILTERED)
    for (table, column), target in targets.items():
        expected = 0 if column in UNFILTERED[table] else -1
        assert target == expected, (table, column, target)
    assert ("rma_order", "organization_id") in targets
    # A JSON document of these tables is read whole: one added later belongs in the list too.
    assert documents
    assert not {column for column in documents if targets[column] != 0}


async def test_analyze_keeps_the_filtered_columns_statistics_only(
    engine: AsyncEngine, gql: GraphQLClient
) -> None:
    """An RMA order with a sender, meta and a comment: after ANALYZE, the columns the lists
    filter and sort on have statistics, its JSON documents and comment none."""
    await create(
        gql,
        comment="the box was open",
        sender={"fullname": "Grace Hopper", "email": "grace@example.com"},
        meta={"channel": "shop"},
    )
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE rma_order"))
        found = await conn.execute(text("SELECT attname FROM pg_stats WHERE tablename = 'rma_order'"))
        gathered = set(found.scalars())

    assert {"organization_id", "processing_status", "created_at", "location_id"} <= gathered
    assert not gathered & UNFILTERED["rma_order"], gathered & UNFILTERED["rma_order"]
