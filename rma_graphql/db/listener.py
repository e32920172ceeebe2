"""PostgreSQL ``LISTEN``: one dedicated connection per server process, never from the pool.

Writers ``NOTIFY`` inside their transaction, so a notice arrives only for a committed
change, in commit order. The connection is watched (termination callback and a periodic
``SELECT 1``, since a silently dead TCP peer raises nothing); when it is lost, the listener
reconnects with backoff and then asks for a resync, so events committed while it was away
are read from the table.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

import asyncpg
from sqlalchemy.engine import make_url

from rma_graphql.db.event_log import EVENT_CHANNEL, EventNotice

logger = logging.getLogger(__name__)

APPLICATION_NAME = "rma_graphql listener"


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
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._on_notice = on_notice
        self._on_resync = on_resync
        # Other channels, each with what its payloads are given to (bulk action progress).
        self._channels = dict(channels or {})
        self._health_interval = health_interval
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    @property
    def backend_pid(self) -> int | None:
        """The server process serving the LISTEN connection (to watch or test it)."""
        return None if self._connection is None else self._connection.get_server_pid()

    async def _connect(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}, timeout=10
        )
        connection.add_termination_listener(self._on_terminated)
        await connection.add_listener(EVENT_CHANNEL, self._on_notify)
        for channel, told in self._channels.items():
            await connection.add_listener(channel, lambda _c, _p, _ch, payload, told=told: told(payload))
        self._connection = connection
        self._lost.clear()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
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
            async with asyncio.timeout(self._health_interval):
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
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    logger.warning("reconnecting the LISTEN connection failed; retrying in %.2fs", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self.reconnects += 1
            # Listening again: whatever committed while nobody listened is read from the table.
            self._on_resync()
