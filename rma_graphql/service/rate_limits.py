"""Fixed-window rate limits per key (a token, or a client address).

Each process counts locally. On PostgreSQL, a background task adds each process's new
counts to ``rate_limit_counter`` every ``sync_seconds`` and learns the total, so that a
limit holds across server processes up to what one interval lets through. Windows shorter
than the interval (the per-second burst limit) are counted per process.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rma_graphql.db import rate_limit_counters as counters
from rma_graphql.service.unit_of_work import UnitOfWork

# How long shutting down waits for a sync under way.
STOP_SECONDS = 5.0

log = logging.getLogger("rma_graphql.rate_limits")

WindowKey = tuple[str, int, int]  # (key, window length in seconds, window start)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


class Decision(NamedTuple):
    """Whether a request may run, and the figures of the window that decided (made on every
    request: a tuple is the cheapest immutable record)."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the window that decided resets.
    reset: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


class RateLimiter:
    def __init__(
        self,
        name: str,
        limits: Sequence[Limit],
        *,
        uow: UnitOfWork | None = None,
        sync_seconds: float = 1.0,
    ) -> None:
        self.name = name
        self.limits = sorted(limits, key=lambda limit: limit.seconds)
        self.uow = uow
        self.sync_seconds = sync_seconds
        self._ours: dict[WindowKey, int] = {}
        self._synced: dict[WindowKey, int] = {}
        self._others: dict[WindowKey, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Requests refused since start.
        self.refused = 0

    async def hit(self, key: str, now: float | None = None) -> Decision:
        """Count one request for ``key`` unless a window is full; say which window decides."""
        now = time.time() if now is None else now
        keyed = []
        for limit in self.limits:
            window = (key, limit.seconds, int(now // limit.seconds) * limit.seconds)
            if self.uow is not None and limit.seconds > self.sync_seconds and window not in self._others:
                # The first request of a window here: start from what other processes counted.
                shared = await self._shared_count(window)
                self._others.setdefault(window, shared)
            keyed.append((limit, window))
        # From here to the count, nothing awaits: concurrent requests see each other's counts.
        ours, others = self._ours, self._others
        # The headers describe the window closest to its limit, relative to its size.
        closest: tuple[float, int] | None = None
        decision = None
        for limit, window in keyed:
            used = ours.get(window, 0) + others.get(window, 0)
            reset = max(math.ceil(window[2] + limit.seconds - now), 1)
            if used >= limit.count:
                self.refused += 1
                return Decision(False, limit.count, 0, reset)
            rank = ((limit.count - used) / limit.count, -limit.seconds)
            if closest is None or rank < closest:
                closest = rank
                decision = Decision(True, limit.count, max(limit.count - used - 1, 0), reset)
        for _, window in keyed:
            ours[window] = ours.get(window, 0) + 1
        assert decision is not None, "a limiter has at least one limit"
        return decision

    def _forget_old(self, now: float) -> None:
        for counts in (self._ours, self._synced, self._others):
            for window in [w for w in counts if w[2] + w[1] <= now]:
                del counts[window]

    # Sharing counts across processes (PostgreSQL)

    def start(self) -> None:
        if self.uow is not None and self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._sync_forever())

    async def stop(self) -> None:
        """Let the sync loop finish its current sync and end.

        It is not cancelled mid-statement: a query cancelled inside its transaction leaves a
        broken connection behind, and the engine's disposal can then wait on it.
        """
        if self._task is not None:
            self._stopping.set()
            try:
                await asyncio.wait_for(self._task, timeout=STOP_SECONDS)
            except TimeoutError:
                log.warning("rate-limit sync did not finish within %s s; abandoned", STOP_SECONDS)
            self._task = None

    async def _sync_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.sync_seconds)
                return
            try:
                await self.sync()
            except Exception:  # a failed sync only makes the limits per process for a while
                log.warning("rate-limit counters not shared this time", exc_info=True)

    def _shared_key(self, window: WindowKey) -> str:
        key, seconds, _ = window
        return f"{self.name}:{seconds}:{key}"

    async def _shared_count(self, window: WindowKey) -> int:
        assert self.uow is not None
        async with self.uow.read() as conn:
            return await counters.count(conn, self._shared_key(window), window[2])

    async def sync(self) -> None:
        """Add this process's new counts to the shared table and learn the totals."""
        assert self.uow is not None
        now = time.time()
        self._forget_old(now)
        pending = [
            (window, count - self._synced.get(window, 0))
            for window, count in self._ours.items()
            if window[1] > self.sync_seconds and count > self._synced.get(window, 0)
        ]
        if not pending:
            return
        async with self.uow.transaction() as conn:
            for (key, seconds, start), delta in sorted(pending):
                total = await counters.add(conn, self._shared_key((key, seconds, start)), start, delta)
                window = (key, seconds, start)
                # Counts made during the await are left for the next sync.
                self._synced[window] = self._synced.get(window, 0) + delta
                self._others[window] = max(total - self._synced[window], 0)
            oldest = int(now) - 2 * max(limit.seconds for limit in self.limits)
            await counters.forget_before(conn, oldest)
