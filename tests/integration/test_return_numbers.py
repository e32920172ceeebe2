"""Return numbers: per organization, gapless (a create that rolls back frees its number),
issued from a row of their own, which a create holds until it commits without holding the
organization row every change takes its event positions from."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from rma_graphql.db import repository as repo
from rma_graphql.db import tables as t


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def _organization(engine: AsyncEngine, last: int) -> str:
    organization_id = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(
            insert(t.organization).values(
                id=organization_id, name="Numbers", last_return_number=last, created_at=datetime.now(UTC)
            )
        )
    return organization_id


async def _counter(engine: AsyncEngine, organization_id: str) -> int | None:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(t.return_number_counter.c.last_return_number).where(
                t.return_number_counter.c.organization_id == organization_id
            )
        )
        return found.scalar()


async def test_numbers_follow_the_organizations_last_and_a_rolled_back_one_is_issued_again(
    engine: AsyncEngine,
) -> None:
    organization_id = await _organization(engine, 4000)
    assert await _counter(engine, organization_id) is None

    async with engine.begin() as conn:
        first = await repo.next_return_number(conn, organization_id)
    async with engine.connect() as conn:
        await conn.begin()
        rolled_back = await repo.next_return_number(conn, organization_id)
        await conn.rollback()
    async with engine.begin() as conn:
        second = await repo.next_return_number(conn, organization_id)

    assert (first, rolled_back, second) == (4001, 4002, 4002)
    assert await _counter(engine, organization_id) == 4002


async def test_a_create_holding_its_number_does_not_hold_the_organizations_changes(
    engine: AsyncEngine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    organization_id = await _organization(engine, 1000)
    async with engine.connect() as creating:
        await creating.begin()
        assert await repo.next_return_number(creating, organization_id) == 1001
        async with engine.connect() as changing:
            # What a change's events take, while the create has not committed: a wait for the
            # create would end in a lock timeout.
            await changing.execute(text("SET lock_timeout = '5s'"))
            await changing.execute(
                text("UPDATE organization SET last_event_position = last_event_position + 1 WHERE id = :o"),
                {"o": organization_id},
            )
            await changing.commit()
        await creating.commit()
    async with engine.connect() as conn:
        position = await conn.execute(
            select(t.organization.c.last_event_position).where(t.organization.c.id == organization_id)
        )
        assert position.scalar() == 1
