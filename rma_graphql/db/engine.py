"""Engine creation. SQLite is set up for concurrent writers: WAL, a busy timeout, and
``BEGIN IMMEDIATE`` for every writing transaction, so a read-modify-write never runs on a
stale snapshot (pysqlite's default deferred transactions lose updates)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from rma_graphql.config import Settings

# What the layers above name a connection and an engine by, without importing SQLAlchemy.
Connection = AsyncConnection
Engine = AsyncEngine

READ_ONLY = "rma_read_only"


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        return _sqlite_engine(settings)
    return create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        json_deserializer=orjson.loads,
    )


# The connections of keyed reads (db/read_batches.py): statements that read rows by a list of
# ids, whose one generic plan (an index lookup per id) serves every list; and of searched
# pages, which are not sent together (each its own search), so more of them run at once
# (with 4, the others opened a connection each time: p99 55-62 ms against 22 with 8).
KEYED_READ_CONNECTIONS = 8


def keyed_reads_engine(settings: Settings) -> AsyncEngine | None:
    """On PostgreSQL, a small pool of its own for keyed reads, whose sessions keep one generic
    plan per prepared statement (``plan_cache_mode``): left to choose, PostgreSQL plans an
    ``id = ANY($1)`` read anew at every execution, since its generic plan is costed for ten ids
    and a custom one for the few a batch holds — and planning a join of tables with many
    indexes costs more than running it. Searched pages too (db/plan_reads.py). None on SQLite
    (nothing is planned per statement there)."""
    return _generic_plans_engine(settings, KEYED_READ_CONNECTIONS)


def changes_engine(settings: Settings) -> AsyncEngine | None:
    """On PostgreSQL, the pool of the changes (and of the short reads made outside an
    operation), whose sessions keep one generic plan per prepared statement: a change finds
    its rows by key, and left to choose, PostgreSQL planned a write batch's statement
    (db/write_batches.py) anew at two executions in three, since a custom plan, costed for
    the arrays' real lengths, always looks cheaper than the generic one costed for ten rows —
    and planning that statement cost 0.74 ms, more than a change's share of running it. Lists
    keep the main pool, where PostgreSQL chooses (their generic plan, blind to the filters'
    values, is the slower one; searched pages excepted). None on SQLite."""
    return _generic_plans_engine(settings, settings.database_pool_size)


def _generic_plans_engine(settings: Settings, pool_size: int) -> AsyncEngine | None:
    if settings.is_sqlite:
        return None
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=settings.database_max_overflow,
        json_deserializer=orjson.loads,
        connect_args={"server_settings": {"plan_cache_mode": "force_generic_plan"}},
    )


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for transactions that only read (deferred ``BEGIN`` on SQLite)."""
    return engine.execution_options(**{READ_ONLY: True})


async def ping(engine: AsyncEngine) -> None:
    """Reach the database (readiness)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _sqlite_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        settings.database_url,
        connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        json_deserializer=orjson.loads,
    )
    busy_timeout = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def _begin_was_cancelled(connection: AsyncConnection) -> bool:
    """Whether asyncpg holds a transaction on the connection that SQLAlchemy's adapter does
    not (asyncpg keeps a cancelled ``BEGIN`` as its top transaction)."""
    if connection.dialect.name != "postgresql" or connection.closed or connection.invalidated:
        return False
    adapter: Any = (await connection.get_raw_connection()).dbapi_connection
    raw = getattr(adapter, "_connection", None)
    return adapter._transaction is None and getattr(raw, "_top_xact", None) is not None


class OperationReads:
    """The reads of one operation: one pooled connection and one transaction, so one
    snapshot (REPEATABLE READ, read only, on PostgreSQL; a deferred transaction on SQLite),
    taken at the first read and given back by ``close``. The reads of concurrent resolvers
    take turns on it; a task already holding it reads on without waiting for itself."""

    def __init__(self, reader: AsyncEngine) -> None:
        self._reader = reader
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._ended = False
        # A dry run's writing transaction, never committed (see ``dry_run``).
        self._dry: AsyncConnection | None = None

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncConnection]:
        task = asyncio.current_task()
        if self._holder is task and self._connection is not None:
            yield self._connection
            return
        if not self._ended:
            async with self._lock:
                if not self._ended:
                    self._holder = task
                    try:
                        if self._connection is None:
                            self._connection = await self._open()
                        yield self._connection
                    finally:
                        self._holder = None
                    return
        # A task the operation started that outlives it (it inherited the operation's
        # context): a short read of its own.
        async with self._reader.connect() as connection:
            yield connection

    @property
    def unbegun(self) -> bool:
        """No read of the operation has taken its connection yet (nor has it ended)."""
        return self._connection is None and not self._ended

    @contextlib.asynccontextmanager
    async def one_statement(self) -> AsyncIterator[AsyncConnection]:
        """For an operation whose reads are one statement (its own snapshot): a pooled
        connection on which the driver begins no transaction, unless the operation's reads
        have begun theirs (then the statement reads in it)."""
        if self._connection is not None or self._ended:
            async with self.use() as connection:
                yield connection
            return
        async with self._reader.connect() as connection:
            yield connection

    async def dry_run(self, writer: AsyncEngine) -> AsyncConnection:
        """The operation's dry-run transaction: a writing one that is rolled back, never
        committed, when the operation ends. Every change of a dry run writes in it (each in a
        savepoint) and the operation's reads read in it, so the answer shows the changes as
        they would be; nothing of them outlives the operation."""
        if self._dry is None:
            await self.close()
            async with self._lock:
                connection = await writer.connect()
                try:
                    await connection.begin()
                except BaseException:
                    await connection.close()
                    raise
                self._dry = self._connection = connection
        return self._dry

    async def _open(self) -> AsyncConnection:
        connection = await self._reader.connect()
        if connection.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        return connection

    async def end(self) -> None:
        """The operation is over: give the connection back; later reads are short ones."""
        self._ended = True
        await self.close()

    async def close(self) -> None:
        """End the transaction and give the connection back (the next read opens another)."""
        if self._holder is not None and self._holder is asyncio.current_task():
            raise RuntimeError("an operation's reads were ended from inside one of them")
        async with self._lock:
            connection, self._connection = self._connection, None
            dry, self._dry = self._dry, None
            if connection is not None:
                if dry is not None:
                    await connection.rollback()
                if await _begin_was_cancelled(connection):
                    # Its BEGIN was cancelled half-way (a resolver cancelled by the execution
                    # it ran in): the driver thinks a transaction is open that SQLAlchemy does
                    # not know, and would refuse every later one. The connection is dropped.
                    await connection.invalidate()
                await connection.close()
