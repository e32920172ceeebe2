"""The unit of work: one transaction per mutation, and work to run after it commits."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rma_graphql.db.engine import read_only
from rma_graphql.db.repository import NOTICES, EventNotice

CommitListener = Callable[[Sequence[EventNotice]], None]


class UnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reader = read_only(engine)
        # Told about the events of every transaction that commits (the in-process hub on
        # SQLite; PostgreSQL delivers them to every process through LISTEN instead).
        self.on_commit: CommitListener | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A writing transaction: committed when the block ends, rolled back on any error."""
        async with self.engine.connect() as connection:
            # The connection's info outlives this checkout: start and end with it empty.
            connection.info.pop(NOTICES, None)
            try:
                async with connection.begin():
                    yield connection
            finally:
                notices: list[EventNotice] = connection.info.pop(NOTICES, [])
        # Reached only when the transaction committed.
        if notices and self.on_commit is not None:
            self.on_commit(notices)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A short read-only transaction (never takes SQLite's write lock)."""
        async with self._reader.connect() as connection:
            yield connection
