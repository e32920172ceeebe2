"""The connections changes keep between them (PostgreSQL): the next change runs on the one
the last used, without a checkout; a change that fails leaves nothing written and its
connection in no transaction, kept; one cut off mid-statement, or one the server ended, is
not used again."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from rma_graphql.db.account_tables import rate_limit_counter
from rma_graphql.db.driver import Prepared, raw_rows, reusable
from rma_graphql.service.unit_of_work import UnitOfWork

POSTGRESQL_ONLY = "changes keep connections on PostgreSQL only"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own, its sessions named: the kept ones are found by that name."""
    postgresql = database_url.startswith("postgresql")
    engine = create_async_engine(
        database_url,
        connect_args={"server_settings": {"application_name": "kept-by-changes"}} if postgresql else {},
    )
    yield engine
    await engine.dispose()


def _checkouts(engine: AsyncEngine) -> list[object]:
    found: list[object] = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *args: found.append(args))
    return found


async def _counters(engine: AsyncEngine, key: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT key, count FROM rate_limit_counter WHERE key LIKE :key ORDER BY key"),
            {"key": f"{key}%"},
        )
        return [tuple(row) for row in found.all()]


# The rows these tests write are counters of a window no server forgets: every running server
# deletes the windows before its own (a window of 0 vanished while a test ran beside others).
_WINDOW = 2**40


async def _insert_by_sqlalchemy(conn: Any, key: str) -> None:
    await conn.execute(
        text("INSERT INTO rate_limit_counter (key, window_start, count) VALUES (:key, :window, 1)"),
        {"key": key, "window": _WINDOW},
    )


# The same row written by the driver itself (PostgreSQL; SQLAlchemy on SQLite).
_INSERT = Prepared(
    lambda dialect: insert(rate_limit_counter).values(key=bindparam("key"), window_start=_WINDOW, count=2)
)


async def _insert_by_driver(conn: Any, key: str) -> None:
    await _INSERT.execute(conn, key=key)


async def test_changes_run_on_the_connection_the_last_one_kept(engine: AsyncEngine) -> None:
    """Two changes, one after the other: one checkout on PostgreSQL (the second change runs on
    the connection the first kept), both committed, whether SQLAlchemy or the driver began
    the transaction. On SQLite every change takes its connection from the pool."""
    uow = UnitOfWork(engine, keep_connections=True)
    checkouts = _checkouts(engine)
    key = f"kept-{uuid.uuid4().hex}"
    try:
        async with uow.transaction() as conn:
            await _insert_by_sqlalchemy(conn, f"{key}-a")
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-b")
            await _insert_by_sqlalchemy(conn, f"{key}-c")
        taken, kept = len(checkouts), uow.kept_connections
    finally:
        await uow.close()
    assert await _counters(engine, key) == [(f"{key}-a", 1), (f"{key}-b", 2), (f"{key}-c", 1)]
    if engine.dialect.name == "postgresql":
        assert (taken, kept) == (1, 1)
    else:
        assert (taken, kept) == (2, 0)


async def test_reads_outside_an_operation_share_the_kept_connections(engine: AsyncEngine) -> None:
    """A read outside any operation (a sender's, say) runs on the connection a change kept,
    sees what it committed, and leaves it in no transaction (its snapshot rolled back), kept;
    a read that fails leaves it the same."""
    if engine.dialect.name != "postgresql":
        pytest.skip(POSTGRESQL_ONLY)
    uow = UnitOfWork(engine, keep_connections=True)
    checkouts = _checkouts(engine)
    key = f"read-{uuid.uuid4().hex}"
    try:
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-a")
        async with uow.read() as conn:
            found = await raw_rows(conn, "SELECT count FROM rate_limit_counter WHERE key = $1", f"{key}-a")
        with pytest.raises(DBAPIError):
            await _read_that_fails(uow)
        taken, kept = len(checkouts), uow.kept_connections
        connection = uow._kept._kept[-1]  # type: ignore[union-attr]
        clean = reusable(connection)
    finally:
        await uow.close()
    assert [row["count"] for row in found] == [2]
    assert (taken, kept, clean) == (1, 1, True)


async def _read_that_fails(uow: UnitOfWork) -> None:
    async with uow.read() as conn:
        await raw_rows(conn, "SELECT 1 / 0")


@pytest.mark.parametrize("first", [_insert_by_sqlalchemy, _insert_by_driver])
async def test_a_change_that_fails_leaves_nothing_and_its_connection_clean(
    engine: AsyncEngine, first: Any
) -> None:
    """A change that wrote two rows and then failed: neither row is there, and its
    connection, kept, is in no transaction; the next change on it commits."""
    uow = UnitOfWork(engine, keep_connections=True)
    key = f"failed-{uuid.uuid4().hex}"
    try:
        with pytest.raises(RuntimeError, match="crash mid-change"):
            await _change_that_crashes(uow, first, key)
        assert await _counters(engine, key) == []
        if engine.dialect.name == "postgresql":
            assert uow.kept_connections == 1
            kept = await uow._kept.take()  # type: ignore[union-attr]
            assert kept is not None
            assert reusable(kept)
            await uow._kept.give_back(kept)  # type: ignore[union-attr]
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-c")
    finally:
        await uow.close()
    assert await _counters(engine, key) == [(f"{key}-c", 2)]


async def _change_that_crashes(uow: UnitOfWork, first: Any, key: str) -> None:
    async with uow.transaction() as conn:
        await first(conn, f"{key}-a")
        await _insert_by_sqlalchemy(conn, f"{key}-b")
        raise RuntimeError("crash mid-change")


async def test_a_change_cut_off_mid_statement_is_not_kept(engine: AsyncEngine) -> None:
    """A change cancelled while its statement runs: nothing of it is written, its connection
    is closed for good (not kept, its session gone), and the next change takes a fresh one."""
    if engine.dialect.name != "postgresql":
        pytest.skip(POSTGRESQL_ONLY)
    uow = UnitOfWork(engine, keep_connections=True)
    key = f"cut-{uuid.uuid4().hex}"
    started = asyncio.Event()

    async def change() -> None:
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-a")
            started.set()
            await raw_rows(conn, "SELECT pg_sleep(30)")

    try:
        task = asyncio.create_task(change())
        await started.wait()
        await _wait_for(
            engine, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'", 1
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        kept = uow.kept_connections
        await _wait_for(
            engine, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kept-by-changes'", 0
        )
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-b")
    finally:
        await uow.close()
    assert kept == 0
    assert await _counters(engine, key) == [(f"{key}-b", 2)]


async def test_a_kept_connection_the_server_ended_is_not_used_again(engine: AsyncEngine) -> None:
    """The server ends the connection a change kept: the next change runs on a fresh one."""
    if engine.dialect.name != "postgresql":
        pytest.skip(POSTGRESQL_ONLY)
    uow = UnitOfWork(engine, keep_connections=True)
    checkouts = _checkouts(engine)
    key = f"ended-{uuid.uuid4().hex}"
    admin = create_async_engine(engine.url)
    try:
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-a")
        async with admin.connect() as conn:
            ended = (
                await conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'kept-by-changes'"
                )
            ).all()
        assert uow.kept_connections == 1
        kept = uow._kept._kept[-1]  # type: ignore[union-attr]
        # asyncpg learns of the end from the socket: the kept connection is seen closed.
        await _until(lambda: not reusable(kept))
        async with uow.transaction() as conn:
            await _insert_by_driver(conn, f"{key}-b")
        taken = len(checkouts)
    finally:
        await uow.close()
        await admin.dispose()
    assert ended == [(True,)]
    assert taken == 2
    assert await _counters(engine, key) == [(f"{key}-a", 2), (f"{key}-b", 2)]


async def _wait_for(engine: AsyncEngine, sql: str, expected: int) -> None:
    """Wait until ``sql`` (a count, read on a connection of its own) gives ``expected``."""
    admin = create_async_engine(engine.url)
    try:
        for _ in range(500):
            async with admin.connect() as conn:
                if (await conn.exec_driver_sql(sql)).scalar() == expected:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{sql} never gave {expected}")
    finally:
        await admin.dispose()


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_changes_keep_one_generic_plan_and_operations_keep_the_choice(app: Starlette) -> None:
    """On PostgreSQL a change and a read outside an operation run on sessions that keep one
    generic plan per prepared statement (a write batch's statement was planned anew at most
    executions otherwise); an operation's reads (lists among them) keep PostgreSQL's choice.
    On SQLite there is one engine."""
    uow = app.state.uow
    if app.state.engine.dialect.name == "sqlite":
        assert app.state.changes_engine is None
        return

    async def mode(conn: Any) -> str:
        return str((await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar())

    async with uow.transaction() as conn:
        in_change = await mode(conn)
    async with uow.read() as conn:
        outside = await mode(conn)
    async with uow.operation(), uow.read() as conn:
        in_operation = await mode(conn)
    assert (in_change, outside, in_operation) == ("force_generic_plan", "force_generic_plan", "auto")
