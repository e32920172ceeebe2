"""What indexes serve (PostgreSQL plans): filter.search the keys or trigram index (for a piece of it), a customer's list and a
list by custom state their partial indexes, a round of mails' lookup of its recipients'
languages the customers' email index."""

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import notification_repository, rma_reads
from rma_graphql.db import tables as t
from rma_graphql.db.list_criteria import organization_prefix, search_keys
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.criteria import RmaOrderFilter
from tests.conftest import DATABASE

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="plans of PostgreSQL's planner")


async def _bitmap_plan(engine: AsyncEngine, query: Any) -> str:
    """``query``'s plan with only bitmap scans left (each needs an index that takes the
    conditions itself; test tables are too small for the planner to prefer one otherwise),
    on the tables' statistics as they are (without them, the rows other tests left, never
    analysed, can make an index on the organization alone cost the same)."""
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE rma_order, rma_order_search"))
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            await conn.execute(text(f"SET LOCAL {setting} = off"))
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        return "\n".join((await conn.exec_driver_sql(f"EXPLAIN {compiled}")).scalars().all())


@pytest.mark.parametrize(
    ("search", "index", "condition"),
    [
        ("RMA-334333_%", "ix_rma_order_search_keys", "@> '{{{p}33433,{p}34333}}'::text[]"),
        ("Ada-4333_%", "ix_rma_order_search_keys", "@> '{{{p}333,{p}433}}'::text[]"),
        ("Jürgen-ßü_%", "ix_rma_order_search", "~~ '%jürgen%'::text"),
    ],
)
async def test_the_index_is_asked_for_the_search_piece_and_the_rows_for_the_whole_search(
    engine: AsyncEngine, organization_id: str, search: str, index: str, condition: str
) -> None:
    """An index takes the search's digits (the trigrams of ``rma`` and ``ma-``, held by every
    row, stay out of its lists): their 5-grams from 5 digits on, else their trigrams, in the
    caller's organization; a piece of other letters the trigram index. The whole search and
    the organization are checked on the rows it finds."""
    condition = condition.format(p=organization_prefix(organization_id))
    conditions = rma_reads.rma_order_conditions(
        Caller(organization_id=organization_id), RmaOrderFilter(search=search), "postgresql"
    )
    plan = await _bitmap_plan(engine, select(t.rma_order.c.id).where(conditions[-1]))
    scan = plan.split(f"Bitmap Index Scan on {index}  (", 1)[-1].split("->", 1)[0]
    checked = plan.split("Bitmap Heap Scan on rma_order_search", 1)[-1].split("->", 1)[0]

    assert f"Bitmap Index Scan on {index}  (" in plan, plan
    assert condition in scan.split("Index Cond:", 1)[-1], plan
    assert f"strpos((search_text)::text, '{search.casefold()}'::text) > 0" in checked, plan
    assert f"(organization_id)::text = '{organization_id}'::text" in checked, plan


@pytest.mark.parametrize(
    ("text_", "piece"),
    [
        ("rma-1334333\ncustomer 1334333\ncustomer1334333@example.com", "334333"),
        ("grace.hopper@example.com\nsku-red-m", "hopper"),
        ("müller-12345678", "45678"),
        ("rma-1001\nada@example.com", "1001"),
        ("sku-red-m", "red"),
    ],
)
async def test_a_text_holds_the_keys_of_every_piece_it_holds_in_its_organization_only(
    engine: AsyncEngine, text_: str, piece: str
) -> None:
    """The index's keys of a text (SQL) include those the server asks for (Python) in the
    text's organization, and none of another organization's."""
    ours, theirs = "6f0b5c1e-0000-4000-8000-000000000001", "6f0b5c1e-0000-4000-8000-000000000002"
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT rma_search_keys(:ours, :text) @> CAST(:keys AS text[]),"
                    " rma_search_keys(:theirs, :text) && CAST(:keys AS text[])"
                ),
                {"ours": ours, "theirs": theirs, "text": text_, "keys": search_keys(ours, piece)},
            )
        ).one()
    assert tuple(found) == (True, False)


async def test_a_search_starts_no_parallel_workers(engine: AsyncEngine, organization_id: str) -> None:
    """Even where parallel workers cost nothing to the planner, the search table is read by
    one process (a generic plan at a million RMA orders started two for a few rows)."""
    conditions = rma_reads.rma_order_conditions(
        Caller(organization_id=organization_id), RmaOrderFilter(search="RMA-334333"), "postgresql"
    )
    query = select(t.rma_order_search.c.rma_order_id).where(
        t.rma_order_search.c.rma_order_id.in_(select(t.rma_order.c.id).where(conditions[-1]))
    )
    async with engine.connect() as conn:
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
            await conn.execute(text(f"SET LOCAL {setting} = 0"))
        await conn.execute(text("SET LOCAL enable_indexscan = off"))
        await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await conn.exec_driver_sql(f"EXPLAIN {compiled}")).scalars().all())

    assert "Seq Scan on rma_order_search" in plan, plan
    assert "Parallel Seq Scan on rma_order_search" not in plan, plan


async def test_the_search_index_keys_the_search_text_alone(engine: AsyncEngine) -> None:
    """Keyed by the organization as well (btree_gin), the index read every entry of the
    searching organization: 5 ms for one of a million RMA orders."""
    async with engine.connect() as conn:
        definition = (
            await conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_rma_order_search'")
            )
        ).scalar_one()
    assert definition.endswith("USING gin (search_text gin_trgm_ops)"), definition


async def test_a_round_of_mails_finds_its_customers_by_the_email_index(
    engine: AsyncEngine, organization_id: str
) -> None:
    """The languages of a round's recipients are read from the organization's customers with
    those emails, not from all of its customers."""
    query = notification_repository.customer_languages_query("postgresql", organization_id)
    async with engine.connect() as conn:
        compiled = query.compile(dialect=conn.dialect)
        params = compiled.construct_params({"keys": ["ada@example.com", "grace@example.com"]})
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        found = await conn.exec_driver_sql(
            f"EXPLAIN {compiled}", tuple(params[name] for name in compiled.positiontup or ())
        )
        plan = "\n".join(found.scalars().all())

    assert "ix_customer_email" in plan, plan
    assert "lower((email)::text) = ANY" in plan.split("Index Cond:", 1)[-1], plan


@pytest.mark.parametrize(
    ("caller", "criteria", "index"),
    [
        ({"role": Role.CUSTOMER, "actor": {"type": "USER", "id": "u-1"}}, {}, "ix_rma_order_customer"),
        ({}, {"custom_state": ["AT_REPAIR"]}, "ix_rma_order_custom_state_created"),
    ],
)
async def test_lists_by_customer_and_custom_state_are_served_by_their_partial_indexes(
    engine: AsyncEngine, organization_id: str, caller: dict[str, Any], criteria: dict[str, Any], index: str
) -> None:
    """The indexes keep only the rows that have a value (a status change of the others writes
    no entry there), and a list asking for a value is still served by them."""
    conditions = rma_reads.rma_order_conditions(
        Caller(organization_id=organization_id, **caller), RmaOrderFilter(**criteria), "postgresql"
    )
    plan = await _bitmap_plan(engine, select(t.rma_order.c.id).where(*conditions))
    async with engine.connect() as conn:
        definition = (
            await conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": index}
            )
        ).scalar_one()

    assert f"Bitmap Index Scan on {index}" in plan, plan
    assert definition.endswith("IS NOT NULL)"), definition
