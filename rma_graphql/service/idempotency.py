"""Idempotency keys: a mutation sent again with the same ``Idempotency-Key`` answers as the
first time did, without running again.

The key is recorded by the first writing transaction of the request, first thing, and with
the RMA order versions the transaction wrote, last thing: the key and the change commit
together or not at all. A concurrent request with the same key waits at that first
statement (PostgreSQL's unique index; SQLite's one writer) and, finding the key taken,
answers what the first run answered. The answer is kept once the request has it; a process
that dies between its commit and keeping the answer leaves the versions, from which a retry
rebuilds it (each version's revision is the RMA order as of that version). A request that
changes nothing (a refusal) keeps its answer alone.
"""

import asyncio
import hashlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from rma_graphql.db import idempotency_repository as repo
from rma_graphql.db.engine import Connection
from rma_graphql.domain.errors import BadUserInputError, DomainError
from rma_graphql.service.unit_of_work import UnitOfWork, transaction_hook

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

_BOOT = uuid.uuid4().hex
# The versions whose RMA orders a rebuilt answer shows (see ``Idempotency.answer``).
_replaying: ContextVar[Mapping[str, int] | None] = ContextVar("replaying", default=None)


def replaying() -> Mapping[str, int] | None:
    """While an answer is rebuilt: the RMA order versions its change wrote (the mutation
    fields answer from them instead of running); else None."""
    return _replaying.get()


@contextmanager
def replay(versions: Mapping[str, int]) -> Iterator[None]:
    """Within the block, mutation fields answer from ``versions`` instead of running (an
    answer rebuilt after its change was made)."""
    token = _replaying.set(dict(versions))
    try:
        yield
    finally:
        _replaying.reset(token)


def owner() -> str:
    """This process: its host, its pid and its start (a pid a container reuses is told apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_BOOT}"


def _owner_is_gone(owner_of_row: str) -> bool:
    """Whether the process that ran a first request is known to be gone (same host only)."""
    host, _, rest = owner_of_row.partition(":")
    pid_text, _, boot = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return boot != _BOOT
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def check_key(key: str) -> str:
    """A key is 1–255 printable ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise BadUserInputError(
            f"An {HEADER} is 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            HEADER,
            reason="INVALID_IDEMPOTENCY_KEY",
        )
    return key


def request_hash(query: str, operation_name: str | None, variables: Any) -> str:
    """What a retry must repeat: the operation's text, its name and its variables."""
    payload = orjson.dumps([query, operation_name, variables], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


class IdempotencyConflictError(DomainError):
    """The key is held by another request (its answer is this one's), or a first request
    ended without an answer and without a change (send it again)."""

    code = "CONFLICT"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason}


def _taken() -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"This {HEADER} is being used by another request.", "IDEMPOTENCY_KEY_IN_USE"
    )


@dataclass
class IdempotentRequest:
    """One request with a key, and what its transactions did with it."""

    organization_id: str
    principal: str
    key: str
    request_hash: str
    ttl: timedelta
    claimed: bool = False
    taken: bool = False
    dry: bool = False
    closed: bool = False
    versions: dict[str, int] = field(default_factory=dict)
    _pending: bool = False

    @property
    def ids(self) -> tuple[str, str, str]:
        return self.organization_id, self.principal, self.key

    def row(self, now: datetime, response: bytes | None = None) -> dict[str, Any]:
        """The key's row, as the first run records it (with its answer, when it changed nothing)."""
        return {
            "organization_id": self.organization_id,
            "principal": self.principal,
            "key": self.key,
            "request_hash": self.request_hash,
            "owner": owner(),
            "versions": dict(self.versions),
            "response": response,
            "created_at": now,
            "expires_at": now + self.ttl,
        }

    # The transaction hook (service/unit_of_work.TransactionHook).

    async def begin(self, conn: Connection) -> None:
        if self.closed or self.claimed:
            return
        now = datetime.now(UTC)
        if not await repo.claim(conn, self.row(now), now):
            self.taken = True
            raise _taken()
        self._pending = True

    async def end(self, conn: Connection, versions: Mapping[str, int]) -> None:
        if self.closed or not versions:
            return
        self.versions.update(versions)
        await repo.record_versions(conn, *self.ids, self.versions)

    def committed(self) -> None:
        if self._pending:
            self.claimed, self._pending = True, False

    def rolled_back(self) -> None:
        self._pending = False

    def dry_run(self) -> None:
        self.dry = True


class Idempotency:
    """Runs each request with a key once, and answers its retries."""

    def __init__(self, uow: UnitOfWork, *, ttl_seconds: int, wait_seconds: float) -> None:
        self.uow = uow
        self.ttl = timedelta(seconds=ttl_seconds)
        self.wait_seconds = wait_seconds
        # The keys whose first run goes on in this process.
        # (Concurrent requests with one key may run here at once: counted, not just noted.)
        self._running: Counter[tuple[str, str, str]] = Counter()
        self._purged_at = 0.0

    def request(
        self,
        organization_id: str,
        principal: str,
        key: str,
        query: str,
        operation_name: str | None,
        variables: Any,
    ) -> IdempotentRequest:
        return IdempotentRequest(
            organization_id,
            principal[:80],
            check_key(key),
            request_hash(query, operation_name, variables),
            self.ttl,
        )

    async def answer(
        self,
        request: IdempotentRequest,
        run: Callable[[], Awaitable[bytes]],
        rebuild: Callable[[], Awaitable[bytes]],
    ) -> tuple[bytes, bool]:
        """The answer to ``request`` and whether it is a replay: ``run`` the first time; the
        first run's answer, waited for while it goes on, afterwards; ``rebuild`` it (with
        ``replaying`` set) when the first run's process ended before keeping it."""
        if await self._found(request) is None:
            body = await self._first_run(request, run)
            if body is not None:
                return body, False
        return await self._replay(request, rebuild), True

    async def _found(self, request: IdempotentRequest) -> Mapping[str, Any] | None:
        async with self.uow.read() as conn:
            row = await repo.find(conn, *request.ids, datetime.now(UTC))
        if row is not None and row["request_hash"] != request.request_hash:
            raise BadUserInputError(
                f"This {HEADER} was sent with another operation or other variables: a key "
                "stands for one request, sent again as it was.",
                HEADER,
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        return row

    async def _first_run(
        self, request: IdempotentRequest, run: Callable[[], Awaitable[bytes]]
    ) -> bytes | None:
        token = transaction_hook.set(request)
        self._running[request.ids] += 1
        try:
            body = await run()
        finally:
            request.closed = True
            transaction_hook.reset(token)
            self._running[request.ids] -= 1
            if self._running[request.ids] <= 0:
                del self._running[request.ids]
        if request.taken:
            return None
        if request.claimed:
            async with self.uow.transaction() as conn:
                await repo.record_response(conn, *request.ids, body)
        elif not request.dry:
            # Nothing changed (a refusal): its answer is kept alone, unless a concurrent
            # request with the key committed first.
            now = datetime.now(UTC)
            async with self.uow.transaction() as conn:
                if not await repo.claim(conn, request.row(now, body), now):
                    return None
        await self._purge()
        return body

    async def _replay(self, request: IdempotentRequest, rebuild: Callable[[], Awaitable[bytes]]) -> bytes:
        waited_until = time.monotonic() + self.wait_seconds
        delay = 0.005
        while True:
            row = await self._found(request)
            if row is None:
                raise IdempotencyConflictError(
                    f"The first request with this {HEADER} ended without an answer: send it again.",
                    "IDEMPOTENCY_KEY_EXPIRED",
                )
            if row["response"] is not None:
                return bytes(row["response"])
            first_goes_on = self._first_goes_on(request.ids, row["owner"])
            if not first_goes_on or time.monotonic() > waited_until:
                return await self._rebuilt(request, row, rebuild)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _first_goes_on(self, ids: tuple[str, str, str], row_owner: str) -> bool:
        """Whether the first run may still answer: this process knows its own runs; another
        process is waited for unless it is known to be gone."""
        if row_owner == owner():
            return self._running[ids] > 0
        return not _owner_is_gone(row_owner)

    async def _rebuilt(
        self, request: IdempotentRequest, row: Mapping[str, Any], rebuild: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        with replay(row["versions"]):
            body = await rebuild()
        async with self.uow.transaction() as conn:
            await repo.record_response(conn, *request.ids, body)
        kept = await self._found(request)
        return bytes(kept["response"]) if kept is not None and kept["response"] is not None else body

    async def _purge(self) -> None:
        """Forget expired keys, at most once a minute per process."""
        if time.monotonic() - self._purged_at < 60:
            return
        self._purged_at = time.monotonic()
        async with self.uow.transaction() as conn:
            await repo.purge(conn, datetime.now(UTC))
