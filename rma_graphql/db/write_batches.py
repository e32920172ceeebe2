"""Changes whose last statement is their only write, written together when concurrent
changes of one organization reach it while one such statement is on its way (PostgreSQL).

A change of an RMA order that writes no child ends in one statement outside any
transaction: the compare-and-set update of the RMA row, its revision, the events with their
positions from the organization row, and the notice (db/event_log.py). Every such statement
of an organization updates that organization's row, so concurrent ones queue on its lock
in the database, each paying its own round trip, parse, commit and notice to every
listening process. Here, per organization and update shape, one statement is on its way at
a time: the first change sends its own after one turn of the event loop, on its own
connection, with the changes that reached theirs in that same turn (an idle server adds no
wait: a turn is microseconds); those that arrive while it is on its way wait, and when it is
answered the first of them sends them all, on its own connection (every change waiting holds
one already: a batch never waits for the pool), as one statement (a batch) that writes each
change only where its compare-and-set holds. Group commit, as databases do it for their log.

Each change gets what its own statement would have given: its events' positions, or none
when its RMA order had changed (a conflict, as alone). A batch never holds two changes of
one RMA order (the second waits for the next batch). When the database refuses a batch's
statement, nothing of it was written, and each of its changes is sent alone, so that each
gets its own answer; a batch whose connection failed gives the others that error (their
changes may be written: as for a change whose own connection failed).
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db.driver import refused_by_database

Item = TypeVar("Item")

# The most changes one statement carries.
MAX_CHANGES = 100


class _AloneError(Exception):
    """The batch was refused: the change is sent alone."""


# A change waiting: what tells it from the others of a batch, itself, and its answer.
_Waiting = tuple[Hashable, Any, "asyncio.Future[Any]"]


@dataclass(frozen=True)
class _Lead:
    """What a waiting change is told when its batch is to be sent: by it, with ``others``."""

    others: list[_Waiting]


@dataclass
class _Queue:
    # A statement of this key is on its way.
    busy: bool = False
    waiting: list[_Waiting] = field(default_factory=list)


@dataclass(frozen=True)
class Writer(Generic[Item]):
    """How changes of one kind are written: ``alone`` on the change's connection, and
    ``together`` in one statement (one result per change, in order)."""

    alone: Callable[[AsyncConnection, Item], Awaitable[Any]]
    together: Callable[[AsyncConnection, Sequence[Item]], Awaitable[Sequence[Any]]]


class WriteBatches:
    """The write batches of one process."""

    def __init__(self) -> None:
        self._queues: dict[Hashable, _Queue] = {}
        # Batch statements sent, and the changes they carried.
        self.statements = 0
        self.changes = 0

    @property
    def busy(self) -> bool:
        """Whether a statement is on its way."""
        return any(queue.busy for queue in self._queues.values())

    @property
    def waiting(self) -> int:
        """How many changes wait for their batch."""
        return sum(len(queue.waiting) for queue in self._queues.values())

    async def write(
        self, conn: AsyncConnection, key: Hashable, distinct: Hashable, item: Item, writer: Writer[Item]
    ) -> Any:
        """Write ``item`` (``distinct``: what no two changes of a batch may share, the RMA
        order): alone on ``conn`` when no statement of ``key`` is on its way, else with the
        changes that wait with it."""
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
        if not queue.busy:
            queue.busy = True
            try:
                # One turn of the event loop first: the changes resumed in this same turn (the
                # RMA orders of one read batch) reach their statement meanwhile and go with it.
                await asyncio.sleep(0)
            except BaseException:
                self._next(key, queue)
                raise
            others = self._take(queue, {distinct})
            if others:
                return await self._send(conn, key, queue, writer, item, others)
            try:
                return await writer.alone(conn, item)
            finally:
                self._next(key, queue)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue.waiting.append((distinct, item, answer))
        try:
            found = await answer
        except _AloneError:
            return await writer.alone(conn, item)
        except asyncio.CancelledError:
            if answer.done() and not answer.cancelled() and isinstance(answer.result(), _Lead):
                # Told to send the batch, but going away: the others wait for the next.
                queue.waiting[:0] = answer.result().others
                self._next(key, queue)
            raise
        if isinstance(found, _Lead):
            return await self._send(conn, key, queue, writer, item, found.others)
        return found

    @staticmethod
    def _take(queue: _Queue, taken: set[Hashable]) -> list[_Waiting]:
        """The waiting changes a batch takes, in order: one per RMA order (none of those in
        ``taken``), up to MAX_CHANGES with those; the others keep waiting."""
        batch: list[_Waiting] = []
        left = []
        room = MAX_CHANGES - len(taken)
        for distinct, item, answer in queue.waiting:
            if answer.done():
                continue  # its request went away
            if distinct in taken or len(batch) >= room:
                left.append((distinct, item, answer))
                continue
            taken.add(distinct)
            batch.append((distinct, item, answer))
        queue.waiting = left
        return batch

    def _next(self, key: Hashable, queue: _Queue) -> None:
        """Tell the first change waiting for ``key`` to send the next batch, or mark the
        key idle."""
        batch = self._take(queue, set())
        left = queue.waiting
        if not batch:
            queue.busy = False
            if not left:
                del self._queues[key]
            return
        (_, _, lead), *others = batch
        lead.set_result(_Lead(others))

    async def _send(
        self,
        conn: AsyncConnection,
        key: Hashable,
        queue: _Queue,
        writer: Writer[Item],
        item: Item,
        others: list[_Waiting],
    ) -> Any:
        """Send ``item`` with ``others`` on ``conn``: the result of ``item``."""
        try:
            results = await writer.together(conn, [item, *(other for _, other, _ in others)])
        except Exception as error:
            # Refused by the database, nothing written: each change alone, for its own answer.
            refused = refused_by_database(error)
            for _, _, answer in others:
                if not answer.done():
                    answer.set_exception(_AloneError() if refused else error)
            self._next(key, queue)
            if refused:
                return await writer.alone(conn, item)
            raise
        except BaseException as error:
            for _, _, answer in others:
                if not answer.done():
                    answer.set_exception(error)
            self._next(key, queue)
            raise
        self._next(key, queue)
        self.statements += 1
        self.changes += len(results)
        for (_, _, answer), result in zip(others, results[1:], strict=True):
            if not answer.done():
                answer.set_result(result)
        return results[0]
