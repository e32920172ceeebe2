"""The rate-limit counters every server process adds its counts to (PostgreSQL)."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

_counter = t.rate_limit_counter


async def count(conn: AsyncConnection, key: str, window_start: int) -> int:
    result = await conn.execute(
        select(_counter.c.count).where(_counter.c.key == key, _counter.c.window_start == window_start)
    )
    return int(result.scalar_one_or_none() or 0)


async def add(conn: AsyncConnection, key: str, window_start: int, delta: int) -> int:
    """Add to a window's count (creating it) in one statement; the new total."""
    values = pg_insert(_counter).values(key=key, window_start=window_start, count=delta)
    statement = values.on_conflict_do_update(
        index_elements=[_counter.c.key, _counter.c.window_start],
        set_={"count": _counter.c.count + values.excluded.count},
    ).returning(_counter.c.count)
    return int((await conn.execute(statement)).scalar_one())


async def forget_before(conn: AsyncConnection, oldest: int) -> None:
    await conn.execute(_counter.delete().where(_counter.c.window_start < oldest))
