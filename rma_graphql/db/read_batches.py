"""Reads that are their operation's only statement, sent together when concurrent operations
ask for them at the same moment.

Under load many requests reach their read in the same turn of the event loop. Each would
take a pooled connection and pay a round trip (and the database a statement) of its own;
here the reads of one statement shape and the same parameters (the same organization, the
same customer narrowing: the same rows visible) that arrive in one turn are sent as one
statement: the keys of keyed reads (RMA orders by id) as one ``= ANY($1)`` list, identical
reads once. Each read gets the rows of its own key (or all of them), as its own statement
would have given them.

A read never joins a statement already sent: a batch closes before its statement leaves,
so every read in it was asked before the snapshot the statement takes (a client that saw
its change committed and then reads sees the change).

On PostgreSQL a batch's statement runs in no transaction, so the connection it used is
kept for the next batch (a few per pool) instead of going back to the pool and out again:
checking a connection out and in costs more than a short read. A kept connection that
fails is discarded, and the batch is sent once more on a fresh one (a read changes nothing).
"""

import asyncio
import contextlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db.driver import Prepared, Row
from rma_graphql.db.kept_connections import KeptConnections, discard

# The most keys one statement carries; more reads in a turn start another batch.
MAX_KEYS = 200
# Connections kept between batches, per pool (PostgreSQL).
KEPT_CONNECTIONS = 4

Connect = Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]


@dataclass
class _Batch:
    statement: Prepared
    params: Mapping[str, Any]
    # Keyed reads: the list parameter the keys go in, and the column that tells rows apart.
    keys_param: str | None
    key_column: str | None
    # Sent on the connections of keyed reads (their sessions keep one generic plan).
    generic: bool
    waiting: list[tuple[Hashable, asyncio.Future[Sequence[Row]]]] = field(default_factory=list)


class ReadBatches:
    """The batches of one engine's readers (``connect`` gives a pooled connection; keyed
    reads, and reads asking for a generic plan, take theirs from ``connect_keyed`` when
    given). ``keep``: connections are kept between batches on PostgreSQL (``close()`` gives
    them back)."""

    def __init__(self, connect: Connect, connect_keyed: Connect | None = None, *, keep: bool = False) -> None:
        self.connect = connect
        self.keep = keep
        self.connect_keyed = connect_keyed or connect
        # Connections kept between batches (PostgreSQL), per ``connect``.
        self._kept: dict[Connect, KeptConnections] = {}
        self._open: dict[Hashable, _Batch] = {}
        # The batches being sent (the loop keeps only weak references to tasks).
        self._sending: set[asyncio.Task[None]] = set()
        # Statements sent (one per batch), and reads answered: how much the batches saved.
        self.statements = 0
        self.reads = 0

    async def rows(
        self,
        statement: Prepared,
        params: Mapping[str, Any],
        *,
        key: Hashable = None,
        keys_param: str | None = None,
        key_column: str | None = None,
        generic: bool = False,
    ) -> Sequence[Row]:
        """The statement's rows for these parameters; for a keyed read (``keys_param``), the
        rows whose ``key_column`` is ``key``, the statement run with the keys of every read
        of the batch as ``keys_param``. ``generic``: run as keyed reads are, with the plan
        their sessions keep for the statement whatever its values."""
        shape = (id(statement), keys_param, _frozen(params))
        batch = self._open.get(shape)
        if batch is None or len(batch.waiting) >= MAX_KEYS:
            batch = self._open[shape] = _Batch(statement, params, keys_param, key_column, generic)
            task = asyncio.get_running_loop().create_task(self._send(shape, batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        future: asyncio.Future[Sequence[Row]] = asyncio.get_running_loop().create_future()
        batch.waiting.append((key, future))
        return await future

    async def _send(self, shape: Hashable, batch: _Batch) -> None:
        # Closed first: no read joins once the statement may be on its way.
        if self._open.get(shape) is batch:
            del self._open[shape]
        try:
            params = dict(batch.params)
            connect = self.connect_keyed if batch.generic else self.connect
            if batch.keys_param is not None:
                params[batch.keys_param] = list(dict.fromkeys(key for key, _ in batch.waiting))
                connect = self.connect_keyed
            rows = await self._records(connect, batch.statement, params)
        except asyncio.CancelledError:
            for _, future in batch.waiting:
                future.cancel()
            raise
        except Exception as error:
            for _, future in batch.waiting:
                if not future.done():
                    future.set_exception(error)
            return
        self.statements += 1
        self.reads += len(batch.waiting)
        if batch.key_column is None:
            for _, future in batch.waiting:
                if not future.done():
                    future.set_result(rows)
            return
        by_key: dict[Any, list[Row]] = {}
        for row in rows:
            by_key.setdefault(row[batch.key_column], []).append(row)
        for key, future in batch.waiting:
            if not future.done():
                future.set_result(by_key.get(key, []))

    async def _records(
        self, connect: Connect, statement: Prepared, params: Mapping[str, Any]
    ) -> Sequence[Row]:
        kept = self._kept.get(connect)
        if kept is None:
            kept = self._kept[connect] = KeptConnections(KEPT_CONNECTIONS)
        conn = await kept.take()
        if conn is not None:
            try:
                rows = await statement.records(conn, begin=False, **params)
            except asyncio.CancelledError:
                await discard(conn)
                raise
            except Exception:
                # Ended by the server, or broken: discarded; the read goes on a fresh one.
                await discard(conn)
            else:
                await kept.give_back(conn)
                return rows
        async with contextlib.AsyncExitStack() as stack:
            conn = await stack.enter_async_context(connect())
            try:
                rows = await statement.records(conn, begin=False, **params)
            except BaseException:
                # Not given back to the pool as it is: the next reader gets a fresh one.
                await discard(conn)
                raise
            if self.keep and conn.dialect.name == "postgresql":
                # In no transaction: kept for the next batch (when there is room) instead of
                # going back now.
                stack.pop_all()
                await kept.give_back(conn)
            return rows

    @property
    def kept_connections(self) -> int:
        """The connections kept between batches (waiting, not in use), of every pool."""
        return sum(len(kept) for kept in self._kept.values())

    async def close(self) -> None:
        """Give the kept connections back to their pools (before the engines are disposed)."""
        kept = list(self._kept.values())
        self._kept.clear()
        for group in kept:
            await group.close()


def _frozen(value: Any) -> Hashable:
    """A parameter value as a key (lists, tuples and mappings by their items)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(name), _frozen(item)) for name, item in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, *map(_frozen, value))
    found: Hashable = value
    return found
