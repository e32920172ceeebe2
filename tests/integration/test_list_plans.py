"""What indexes serve (PostgreSQL plans): filter.search the trigram index, a customer's list and a
list by custom state their partial indexes, a round of mails' lookup of its recipients'
languages the customers' email index."""

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import notification_repository, rma_reads
from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.criteria import RmaOrderFilter
from tests.conftest import DATABASE

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="plans of PostgreSQL's planner")


async def test_the_search_condition_is_served_by_the_trigram_index(
    engine: AsyncEngine, organization_id: str
) -> None:
    conditions = rma_reads.rma_order_conditions(
        Caller(organization_id=organization_id), RmaOrderFilter(search="Ada@Example.com_%")
    )
    search = conditions[-1]  # the server's own condition: LIKE '%…%' with its escapes
    query = select(t.rma_order.c.id).where(search)

    async with engine.connect() as conn:
        # Test tables are small, and a plan's choice among scans follows their statistics:
        # leave only bitmap scans, which need an index that can take the condition itself.
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            await conn.execute(text(f"SET LOCAL {setting} = off"))
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await conn.exec_driver_sql(f"EXPLAIN {compiled}")).scalars().all())

    assert "Bitmap Index Scan on ix_rma_order_search" in plan, plan


async def test_the_search_index_keys_the_organization_with_the_search_text(engine: AsyncEngine) -> None:
    """A search reads its own organization's entries of the index (btree_gin), not every
    organization's: the organization is the index's first key."""
    async with engine.connect() as conn:
        definition = (
            await conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_rma_order_search'")
            )
        ).scalar_one()
    assert definition.endswith("USING gin (organization_id, search_text gin_trgm_ops)"), definition


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


async def _bitmap_plan(engine: AsyncEngine, query: Any) -> str:
    """``query``'s plan with only bitmap scans left (each needs an index that takes the
    conditions itself; test tables are too small for the planner to prefer one otherwise)."""
    async with engine.connect() as conn:
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            await conn.execute(text(f"SET LOCAL {setting} = off"))
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        return "\n".join((await conn.exec_driver_sql(f"EXPLAIN {compiled}")).scalars().all())


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
