"""Pooled connections kept checked out between uses (PostgreSQL).

Taking a connection from SQLAlchemy's pool and giving it back costs more than a short
statement: each is a hop into the pool's synchronous code, and the return resets the
connection. The read batches and the changes of RMA orders keep a few connections of their
own instead: one in no transaction goes back on the stack after its use and is taken again
by the next one, at once. A connection that failed, or that a cancellation left in the
middle of a statement, is discarded: its pool opens a fresh one in its place.
"""

import contextlib

from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db.driver import reusable


class KeptConnections:
    """At most ``limit`` connections kept between uses."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: list[AsyncConnection] = []

    def __len__(self) -> int:
        return len(self._kept)

    async def take(self) -> AsyncConnection | None:
        """A kept connection (the last given back), or None; one the server closed while it
        was kept is discarded on the way."""
        while self._kept:
            conn = self._kept.pop()
            if reusable(conn):
                return conn
            await discard(conn)
        return None

    async def give_back(self, conn: AsyncConnection) -> None:
        """Keep ``conn`` for the next use when it is open, in no transaction, and there is
        room; else give it back to its pool."""
        if len(self._kept) < self.limit and reusable(conn):
            self._kept.append(conn)
        else:
            await close_connection(conn)

    async def close(self) -> None:
        """Give every kept connection back to its pool (before the engine is disposed)."""
        kept, self._kept = self._kept, []
        for conn in kept:
            await close_connection(conn)


async def close_connection(conn: AsyncConnection) -> None:
    """Give ``conn`` back to its pool (a connection that cannot be closed is let go)."""
    with contextlib.suppress(Exception):
        await conn.close()


async def discard(conn: AsyncConnection) -> None:
    """Close ``conn`` for good: its pool opens a new connection in its place."""
    with contextlib.suppress(Exception):
        await conn.invalidate()
    await close_connection(conn)
