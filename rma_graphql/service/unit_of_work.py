"""The unit of work: one transaction per mutation, and work to run after it commits."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rma_graphql.db.driver import end_transaction
from rma_graphql.db.engine import Connection, Engine, OperationReads, ping, read_only
from rma_graphql.db.errors import duplicates_named
from rma_graphql.db.event_log import NOTICES, EventNotice
from rma_graphql.db.kept_connections import KeptConnections, discard
from rma_graphql.db.read_batches import ReadBatches
from rma_graphql.db.revisions import Revision
from rma_graphql.db.rma_order_repository import RmaOrderRepository
from rma_graphql.db.write_batches import WriteBatches
from rma_graphql.domain.access import SYSTEM_ACTOR, Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.rma_order import RmaOrder

# Connections the changes and the reads outside operations keep between them (PostgreSQL)
# when they share the main pool; more go back to the pool after their use.
KEPT_CONNECTIONS = 8

CommitListener = Callable[[Sequence[EventNotice]], None]

# The version of each RMA order the changes of this task (one request) wrote: the answer to
# a mutation is the RMA order as of its own change, never a later one made concurrently.
_written_versions: ContextVar[Mapping[str, int] | None] = ContextVar("written_versions", default=None)
# The revisions those changes kept (what the RMA order is as of that version), as values.
_written_states: ContextVar[Mapping[str, Revision] | None] = ContextVar("written_states", default=None)


# The reads of the operation this task runs (an HTTP request's), when it shares one.
_operation_reads: ContextVar[OperationReads | None] = ContextVar("operation_reads", default=None)
# Whether the changes this task makes now are a dry run (see ``UnitOfWork.dry_run``).
_dry_run: ContextVar[bool] = ContextVar("dry_run", default=False)


class TransactionHook(Protocol):
    """Told about every writing transaction of a request (its idempotency key,
    service/idempotency.py): in it, first thing and last thing before it commits; then
    whether it committed. A dry run is only announced."""

    async def begin(self, conn: Connection) -> None: ...

    async def end(self, conn: Connection, versions: Mapping[str, int]) -> None: ...

    def committed(self) -> None: ...

    def rolled_back(self) -> None: ...

    def dry_run(self) -> None: ...


def written_version(rma_id: str) -> int | None:
    """The version the last change of ``rma_id`` made in this task wrote, if any."""
    return (_written_versions.get() or {}).get(rma_id)


def forget_written() -> None:
    """This task starts an operation of its own: no version a change of it wrote before is
    remembered."""
    _written_versions.set(None)
    _written_states.set(None)


def remember_written(versions: Mapping[str, int]) -> None:
    """Answers in this task show these RMA order versions (an answer rebuilt after its change),
    as their revisions keep them."""
    _written_versions.set({**(_written_versions.get() or {}), **versions})
    states = _written_states.get() or {}
    _written_states.set({rma_id: state for rma_id, state in states.items() if rma_id not in versions})


def written_state(rma_id: str) -> Revision | None:
    """The revision of that version, as the change kept it (no read needed)."""
    return (_written_states.get() or {}).get(rma_id)


@dataclass(frozen=True)
class Change:
    """One change, in its transaction: the caller, its repositories and the change's time."""

    conn: Connection
    now: datetime
    caller: Caller
    rma_orders: RmaOrderRepository

    async def load(
        self, rma_id: str, action: Action, *, expected_version: int | None = None, lock: bool = False
    ) -> RmaOrder:
        """The RMA order the caller is about to change by ``action``: one it sees (else
        NOT_FOUND), an action it may take (else FORBIDDEN), at the version it expects (else
        CONFLICT). With ``lock`` concurrent changes of the RMA order queue (PostgreSQL)."""
        rma = await self.rma_orders.get(rma_id, lock=lock)
        self.caller.check_may(action, rma.processing_status)
        rma.check_version(expected_version)
        return rma


# The hook of the writing transactions this task runs (set per request).
transaction_hook: ContextVar[TransactionHook | None] = ContextVar("transaction_hook", default=None)


@asynccontextmanager
async def _committed_at_end(connection: Connection) -> AsyncIterator[None]:
    """Commits what the block's statements began on ``connection`` when it ends without an
    error (a kept connection: nothing when nothing was begun)."""
    yield
    await end_transaction(connection, commit=True)


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        keyed_reads: Engine | None = None,
        changes: Engine | None = None,
        *,
        keep_connections: bool = False,
    ) -> None:
        """``keyed_reads``: the engine the read batches send reads by ids through (see
        ``db.engine.keyed_reads_engine``), else ``engine``; ``changes``: the engine of the
        changes and of the reads outside an operation (``db.engine.changes_engine``), else
        ``engine``. ``keep_connections``: the read batches, the changes and those reads keep
        a few connections between uses (PostgreSQL); ``close()`` gives them back, before the
        engines are disposed."""
        self.engine = engine
        self._changes = changes or engine
        self._reader = read_only(engine)
        keyed = read_only(keyed_reads).connect if keyed_reads is not None else None
        self._batches = ReadBatches(self._reader.connect, keyed, keep=keep_connections)
        self._writes = WriteBatches()
        # The connections changes and reads outside operations keep between them
        # (PostgreSQL, with ``keep_connections``): every one of their own pool's, or a few
        # of the pool they share.
        pool_size = getattr(self._changes.pool, "size", None) if changes is not None else None
        self._kept = (
            KeptConnections(pool_size() if callable(pool_size) else KEPT_CONNECTIONS)
            if keep_connections and engine.dialect.name == "postgresql"
            else None
        )
        # Told about the events of every transaction that commits (the process's own hub;
        # on PostgreSQL the other processes hear them through LISTEN, when they listen).
        self.on_commit: CommitListener | None = None

    async def close(self) -> None:
        """Give back the connections the read batches and the changes keep."""
        await self._batches.close()
        if self._kept is not None:
            await self._kept.close()

    @property
    def kept_connections(self) -> int:
        """The pooled connections kept between reads and changes (waiting, not in use)."""
        return self._batches.kept_connections + (len(self._kept) if self._kept is not None else 0)

    @property
    def in_dry_run(self) -> bool:
        """Whether the changes made here now are a dry run's (nothing of them is kept)."""
        return _dry_run.get()

    @contextmanager
    def dry_run(self, dry: bool = True) -> Iterator[None]:
        """Within the block, with ``dry``, every change runs and is checked as it would be, in
        the operation's dry-run transaction, and none is committed: the operation's reads see
        them until it ends, then they are rolled back (not a row, a version, an event
        position, a voucher or a delivery remains)."""
        token = _dry_run.set(dry or _dry_run.get())
        try:
            yield
        finally:
            _dry_run.reset(token)

    @asynccontextmanager
    async def transaction(self, versions: "dict[str, int] | None" = None) -> AsyncIterator[Connection]:
        """A writing transaction: committed when the block ends, rolled back on any error (a
        broken unique constraint, in the block or at commit, as ``DuplicateRowError``).
        ``versions``: the RMA order versions the block writes, filled in by it (told to the
        transaction hook before commit)."""
        reads = _operation_reads.get()
        if _dry_run.get():
            async with self._dry_run_transaction(reads) as connection:
                yield connection
            return
        # Reads after this change must see it: the operation's snapshot ends here.
        if reads is not None:
            await reads.close()
        hook = transaction_hook.get()
        async with self._writing() as (connection, committing):
            # The connection's info outlives a checkout: start and end with it empty.
            connection.info.pop(NOTICES, None)
            try:
                async with duplicates_named(), committing:
                    if hook is not None:
                        await hook.begin(connection)
                    yield connection
                    if hook is not None:
                        await hook.end(connection, versions or {})
            except BaseException:
                if hook is not None:
                    hook.rolled_back()
                raise
            finally:
                notices: list[EventNotice] = connection.info.pop(NOTICES, [])
        # Reached only when the transaction committed.
        if hook is not None:
            hook.committed()
        if notices and self.on_commit is not None:
            self.on_commit(notices)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[tuple[Connection, AbstractAsyncContextManager[Any]]]:
        """A writing transaction's connection, and what commits it when its block ends: a
        kept one (PostgreSQL), whose transaction begins at its first statement that needs one
        (a change whose only write is one statement runs it in none); else one of the pool,
        begun at once."""
        if self._kept is not None:
            async with self._kept_connection() as connection:
                yield connection, _committed_at_end(connection)
            return
        async with self.engine.connect() as connection:
            yield connection, connection.begin()

    @asynccontextmanager
    async def _kept_connection(self) -> AsyncIterator[Connection]:
        """A connection the changes and reads keep between them (PostgreSQL) for the block,
        which ends what it began; kept after it, or after a failure once rolled back
        (discarded when it cannot be, or when the block was cut off mid-statement)."""
        assert self._kept is not None
        connection = await self._kept.take() or await self._changes.connect()
        try:
            yield connection
        except (Exception, asyncio.CancelledError) as error:
            await self._after_failure(connection, error)
            raise
        await self._kept.give_back(connection)

    async def _after_failure(self, connection: Connection, error: BaseException) -> None:
        assert self._kept is not None
        if isinstance(error, asyncio.CancelledError):
            await discard(connection)
            return
        try:
            await end_transaction(connection, commit=False)
        except Exception:
            await discard(connection)
            return
        await self._kept.give_back(connection)

    @asynccontextmanager
    async def _dry_run_transaction(self, reads: OperationReads | None) -> AsyncIterator[Connection]:
        if reads is None:
            raise BadUserInputError(
                "dryRun is answered over HTTP (POST /graphql): a websocket operation has no "
                "transaction to roll back.",
                "dryRun",
            )
        hook = transaction_hook.get()
        if hook is not None:
            hook.dry_run()
        connection = await reads.dry_run(self.engine)
        try:
            async with duplicates_named(), connection.begin_nested():
                yield connection
        finally:
            # Nothing of a dry run is announced.
            connection.info.pop(NOTICES, None)

    @asynccontextmanager
    async def change(self, caller: Caller) -> AsyncIterator[Change]:
        """A writing transaction for ``caller``, its repositories bound to it; committed when
        the block ends, rolled back on any error."""
        now = datetime.now(UTC)
        versions: dict[str, int] = {}
        async with self.transaction(versions) as conn:
            rma_orders = RmaOrderRepository(
                conn,
                caller.organization_id,
                customer_id=caller.customer_id,
                actor=caller.actor,
                system_actor=SYSTEM_ACTOR,
                now=now,
                read_batches=self._batches,
                write_batches=self._writes,
            )
            yield Change(conn, now, caller, rma_orders)
            versions.update(rma_orders.saved)
        # Committed: answers read these versions.
        _written_versions.set({**(_written_versions.get() or {}), **rma_orders.saved})
        _written_states.set({**(_written_states.get() or {}), **rma_orders.states})

    @property
    def one_writer(self) -> bool:
        """Whether the database lets one transaction write at a time (SQLite)."""
        return bool(self.engine.dialect.name == "sqlite")

    async def ping(self) -> None:
        """Reach the database (readiness)."""
        await ping(self._reader)

    @asynccontextmanager
    async def operation(self) -> AsyncIterator[None]:
        """Within the block (one GraphQL operation), every ``read`` shares one connection and
        one snapshot, taken at the first read; a change ends it, so later reads see the
        change."""
        reads = OperationReads(self._reader)
        token = _operation_reads.set(reads)
        try:
            yield
        finally:
            _operation_reads.reset(token)
            await reads.end()

    def one_statement_batches(self) -> ReadBatches | None:
        """Where an operation whose only read is one statement sends it, together with the
        same statements of concurrent operations (db/read_batches.py); None when the
        operation's reads have their connection already (then ``read(one_statement=True)``)."""
        reads = _operation_reads.get()
        return self._batches if reads is None or reads.unbegun else None

    @property
    def read_batches(self) -> ReadBatches:
        return self._batches

    @property
    def write_batches(self) -> WriteBatches:
        return self._writes

    @asynccontextmanager
    async def one_statement_reader(self) -> AsyncIterator[Connection | ReadBatches]:
        """Where the operation's only read (one statement) runs: the batches of concurrent
        operations, or the operation's connection when its reads hold one."""
        batches = self.one_statement_batches()
        if batches is not None:
            yield batches
            return
        async with self.read(one_statement=True) as conn:
            yield conn

    @asynccontextmanager
    async def read(self, *, one_statement: bool = False) -> AsyncIterator[Connection]:
        """A read-only transaction (never takes SQLite's write lock): the operation's, or
        a short one of its own outside an operation (on PostgreSQL on a kept connection,
        begun by its first statement and rolled back at its end). ``one_statement``: the operation's
        only read is one statement (its own snapshot), for which no transaction is begun
        unless the operation's is open already."""
        reads = _operation_reads.get()
        if reads is not None:
            async with reads.one_statement() if one_statement else reads.use() as connection:
                yield connection
            return
        if self._kept is not None:
            async with self._kept_connection() as connection:
                yield connection
                await end_transaction(connection, commit=False)
            return
        async with self._reader.connect() as connection:
            yield connection
