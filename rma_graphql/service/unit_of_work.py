"""The unit of work: one transaction per mutation, and work to run after it commits."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db.engine import Connection, Engine, OperationReads, ping, read_only
from rma_graphql.db.errors import duplicates_named
from rma_graphql.db.event_log import NOTICES, EventNotice
from rma_graphql.db.rma_order_repository import RmaOrderRepository
from rma_graphql.domain.access import SYSTEM_ACTOR, Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.rma_order import RmaOrder

CommitListener = Callable[[Sequence[EventNotice]], None]

# The version of each RMA order the changes of this task (one request) wrote: the answer to
# a mutation is the RMA order as of its own change, never a later one made concurrently.
_written_versions: ContextVar[Mapping[str, int] | None] = ContextVar("written_versions", default=None)
# The revision states those changes kept (what the RMA order is as of that version).
_written_states: ContextVar[Mapping[str, Mapping[str, Any]] | None] = ContextVar(
    "written_states", default=None
)


# The reads of the operation this task runs (an HTTP request's), when it shares one.
_operation_reads: ContextVar[OperationReads | None] = ContextVar("operation_reads", default=None)


def written_version(rma_id: str) -> int | None:
    """The version the last change of ``rma_id`` made in this task wrote, if any."""
    return (_written_versions.get() or {}).get(rma_id)


def written_state(rma_id: str) -> Mapping[str, Any] | None:
    """The revision state of that version, as the change kept it (no read needed)."""
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


class UnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = read_only(engine)
        # Told about the events of every transaction that commits (the in-process hub on
        # SQLite; PostgreSQL delivers them to every process through LISTEN instead).
        self.on_commit: CommitListener | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A writing transaction: committed when the block ends, rolled back on any error (a
        broken unique constraint, in the block or at commit, as ``DuplicateRowError``)."""
        # Reads after this change must see it: the operation's snapshot ends here.
        reads = _operation_reads.get()
        if reads is not None:
            await reads.close()
        async with self.engine.connect() as connection:
            # The connection's info outlives this checkout: start and end with it empty.
            connection.info.pop(NOTICES, None)
            try:
                async with duplicates_named(), connection.begin():
                    yield connection
            finally:
                notices: list[EventNotice] = connection.info.pop(NOTICES, [])
        # Reached only when the transaction committed.
        if notices and self.on_commit is not None:
            self.on_commit(notices)

    @asynccontextmanager
    async def change(self, caller: Caller) -> AsyncIterator[Change]:
        """A writing transaction for ``caller``, its repositories bound to it; committed when
        the block ends, rolled back on any error."""
        now = datetime.now(UTC)
        async with self.transaction() as conn:
            rma_orders = RmaOrderRepository(
                conn,
                caller.organization_id,
                customer_id=caller.customer_id,
                actor=caller.actor,
                system_actor=SYSTEM_ACTOR,
                now=now,
            )
            yield Change(conn, now, caller, rma_orders)
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

    @asynccontextmanager
    async def read(self, *, one_statement: bool = False) -> AsyncIterator[Connection]:
        """A read-only transaction (never takes SQLite's write lock): the operation's, or
        a short one of its own outside an operation. ``one_statement``: the operation's
        only read is one statement (its own snapshot), for which no transaction is begun
        unless the operation's is open already."""
        reads = _operation_reads.get()
        if reads is not None:
            async with reads.one_statement() if one_statement else reads.use() as connection:
                yield connection
            return
        async with self._reader.connect() as connection:
            yield connection
