"""Engine creation. SQLite is set up for concurrent writers: WAL, a busy timeout, and
``BEGIN IMMEDIATE`` for every writing transaction, so a read-modify-write never runs on a
stale snapshot (pysqlite's default deferred transactions lose updates)."""

from typing import Any

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
