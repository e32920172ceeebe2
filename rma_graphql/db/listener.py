"""PostgreSQL ``LISTEN``: one dedicated connection per server process, never from the pool.

Writers ``NOTIFY`` inside their transaction, so a notice arrives only for a committed
change, in commit order. The connection is watched (termination callback and a periodic
``SELECT 1``, since a silently dead TCP peer raises nothing); when it is lost, the listener
reconnects with backoff and then asks for a resync, so events committed while it was away
are read from the table.

A listener ``on_demand`` (a server process) listens only while it is wanted (the process has
subscribers), and stops ``linger`` seconds after it last was: PostgreSQL wakes every session
that listens in the database at every commit that notifies, on any channel, and each process
hears its own commits without it. Once listening again, it asks for a resync too.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

import asyncpg
from sqlalchemy.engine import make_url

from rma_graphql.db.event_log import EVENT_CHANNEL, EventNotice

logger = logging.getLogger(__name__)

APPLICATION_NAME = "rma_graphql listener"
# How long an on-demand listener goes on listening after it was last wanted (a subscriber
# that reconnects at once keeps it).
LINGER_SECONDS = 10.0


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg accepts."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresListener:
    def __init__(
        self,
        database_url: str,
        on_notice: Callable[[EventNotice], None],
        on_resync: Callable[[], None],
        *,
        health_interval: float = 5.0,
        channels: Mapping[str, Callable[[str], None]] | None = None,
        on_demand: bool = False,
        linger: float = LINGER_SECONDS,
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._on_notice = on_notice
        self._on_resync = on_resync
        # What each channel's notices are given to: the events', and the others' (bulk
        # action progress), each its payload.
        self._callbacks: dict[str, Callable[..., None]] = {EVENT_CHANNEL: self._on_notify}
        for channel, told in (channels or {}).items():
            self._callbacks[channel] = lambda _c, _p, _ch, payload, told=told: told(payload)
        self._health_interval = health_interval
        self._connection: asyncpg.Connection | None = None
        # One statement at a time on the connection (the health check, LISTEN, UNLISTEN).
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._wanted = not on_demand
        # When it was last wanted (time.monotonic()), while it is not.
        self._unwanted_since = 0.0
        self._demand = asyncio.Event()
        self._listening = False
        self.linger = linger
        self._tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0

    async def start(self) -> None:
        async with self._lock:
            await self._connect()
        self._tasks = [asyncio.create_task(self._supervise()), asyncio.create_task(self._follow_demand())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    @property
    def listening(self) -> bool:
        return self._listening

    def want(self, wanted: bool) -> None:
        """Whether this process has anyone to tell of other processes' commits now."""
        if self._wanted and not wanted:
            self._unwanted_since = time.monotonic()
        self._wanted = wanted
        self._demand.set()

    def lingering(self, now: float) -> float:
        """How long it goes on listening unwanted, at ``now`` (time.monotonic()): ``linger``
        from when it was last wanted, so that a subscriber who came and went meanwhile
        starts the wait again."""
        return 0.0 if self._wanted else max(0.0, self._unwanted_since + self.linger - now)

    async def channels(self) -> list[str]:
        """The channels the connection listens to, as PostgreSQL tells (to watch or test it)."""
        async with self._lock:
            assert self._connection is not None
            found = await self._connection.fetchval("SELECT array_agg(c) FROM pg_listening_channels() AS c")
            return sorted(found or [])

    @property
    def backend_pid(self) -> int | None:
        """The server process serving the LISTEN connection (to watch or test it)."""
        return None if self._connection is None else self._connection.get_server_pid()

    async def _connect(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}, timeout=10
        )
        connection.add_termination_listener(self._on_terminated)
        self._connection = connection
        self._listening = False
        self._lost.clear()
        if self._wanted:
            try:
                await self._listen(connection)
            except BaseException:
                await self._close()
                raise

    async def _listen(self, connection: asyncpg.Connection) -> None:
        for channel, callback in self._callbacks.items():
            await connection.add_listener(channel, callback)
        self._listening = True

    async def _unlisten(self, connection: asyncpg.Connection) -> None:
        self._listening = False
        for channel, callback in self._callbacks.items():
            await connection.remove_listener(channel, callback)

    async def _follow_demand(self) -> None:
        """LISTEN when wanted (then read what was committed before), UNLISTEN once no longer
        wanted for ``linger`` seconds."""
        while True:
            # Unwanted but listening: wait out the linger, unless the demand changes first.
            left = self.lingering(time.monotonic()) if self._listening else 0.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left or None):
                    await self._demand.wait()
            self._demand.clear()
            if self._listening and self.lingering(time.monotonic()) > 0:
                continue
            async with self._lock:
                connection = self._connection
                if connection is None or connection.is_closed() or self._wanted == self._listening:
                    continue
                try:
                    await (self._listen if self._wanted else self._unlisten)(connection)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    self._lost.set()  # reconnected, listening if wanted then
                    continue
            if self._listening:
                self._on_resync()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._listening = False
        if connection is not None and not connection.is_closed():
            connection.terminate()

    def _on_terminated(self, connection: asyncpg.Connection) -> None:
        if connection is self._connection:
            self._lost.set()

    def _on_notify(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            notice = EventNotice.from_payload(payload)
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed notice on %s: %r", channel, payload[:200])
            return
        self._on_notice(notice)

    async def _healthy(self) -> bool:
        connection = self._connection
        if connection is None or connection.is_closed():
            return False
        try:
            async with asyncio.timeout(self._health_interval), self._lock:
                await connection.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True

    async def _supervise(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._health_interval):
                    await self._lost.wait()
            except TimeoutError:
                if await self._healthy():
                    continue
            logger.warning("the LISTEN connection was lost; reconnecting")
            await self._close()
            delay = 0.05
            while True:
                try:
                    async with self._lock:
                        await self._connect()
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    logger.warning("reconnecting the LISTEN connection failed; retrying in %.2fs", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self.reconnects += 1
            # Listening again: whatever committed while nobody listened is read from the table.
            self._on_resync()
