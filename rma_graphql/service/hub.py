"""The process's event hub: every subscriber of this process, fed from the event table.

Writers announce committed events with small notices (ids and positions). The hub reads
the new events once per organization from the table and offers them to each live
subscriber, whose queue is bounded: one that falls more than ``queue_limit`` events behind
is dropped and told so, never buffered without bound. Because every subscriber keeps the
position it has reached and the hub always reads from the table, a missed notice costs
latency, never an event: ``resync`` (after the listening connection was lost) and
``go_live`` (after a replay) simply read again from the lowest position still wanted.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from rma_graphql.config import Settings
from rma_graphql.db.event_log import EventNotice
from rma_graphql.service.bulk_actions import BulkProgress
from rma_graphql.service.events import EventFilter, current_position, events_after, replay_page
from rma_graphql.service.records import RmaOrderEventRecord
from rma_graphql.service.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

FETCH_PAGE = 500
RETRY_SECONDS = 1.0


class SubscriberTooSlowError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The subscriber fell more than {limit} events behind and was disconnected.")
        self.limit = limit


class Subscription:
    """One subscriber's place in the organization's event stream and its bounded queue."""

    def __init__(self, hub: "EventHub", organization_id: str, event_filter: EventFilter, cursor: int) -> None:
        self.hub = hub
        self.organization_id = organization_id
        self.filter = event_filter
        # The position up to which this subscriber has been offered every event.
        self.cursor = cursor
        self.live = False
        self.closed = False
        self.overflowed = False
        # The most events this subscriber's queue ever held (never above the hub's limit).
        self.high_water = 0
        self.on_overflow: Callable[[], None] | None = None
        self._queue: deque[RmaOrderEventRecord] = deque()
        self._ready = asyncio.Event()

    def offer(self, row: RmaOrderEventRecord) -> None:
        if self.closed or row.position <= self.cursor:
            return
        self.cursor = row.position
        if not self.filter.matches(row):
            return
        if len(self._queue) >= self.hub.queue_limit:
            self._overflow()
            return
        self._queue.append(row)
        self.high_water = max(self.high_water, len(self._queue))
        self._ready.set()

    def _overflow(self) -> None:
        self.overflowed = True
        self._queue.clear()
        self._ready.set()
        self.hub.unsubscribe(self)
        logger.warning(
            "disconnecting a subscriber of organization %s: more than %d events behind",
            self.organization_id,
            self.hub.queue_limit,
        )
        if self.on_overflow is not None:
            self.on_overflow()

    async def get(self) -> RmaOrderEventRecord:
        while not self._queue:
            if self.overflowed:
                raise SubscriberTooSlowError(self.hub.queue_limit)
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    @property
    def queued(self) -> int:
        return len(self._queue)


class EventHub:
    def __init__(self, uow: UnitOfWork, *, queue_limit: int, replay_page_size: int) -> None:
        self.uow = uow
        self.queue_limit = queue_limit
        # The events a replay reads per statement.
        self.replay_page_size = replay_page_size
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._pending: set[str] = set()
        self._fetchers: dict[str, asyncio.Task[None]] = {}
        # Events offered to subscribers since start (one per event and subscriber).
        self.fanned_out = 0
        # Told of every commit with events (and of every resync), whoever subscribes.
        self.watchers: list[Callable[[], None]] = []
        # The progress of bulk actions, followed by bulkActionProgress.
        self.bulk_progress = BulkProgress()
        self.bulk_progress.on_followers = self._demand_changed
        # Told whether this process has anyone to tell of other processes' commits (its
        # subscribers, bulk progress followers): PostgreSQL's LISTEN is held only then.
        self.on_demand: Callable[[bool], None] | None = None
        # Whether this process's own notices come back to it through LISTEN (PostgreSQL,
        # while it listens): its subscribers are then served from those.
        self.hears_own: Callable[[], bool] = lambda: False

    @property
    def wanted(self) -> bool:
        """Whether anyone here follows what other processes commit."""
        return bool(self._subscriptions) or self.bulk_progress.followers > 0

    def _demand_changed(self) -> None:
        if self.on_demand is not None:
            self.on_demand(self.wanted)

    @classmethod
    def from_settings(cls, uow: UnitOfWork, settings: Settings) -> "EventHub":
        return cls(
            uow,
            queue_limit=settings.subscription_queue_limit,
            replay_page_size=settings.subscription_replay_page,
        )

    # -- subscribers ------------------------------------------------------------------------

    def subscribe(self, organization_id: str, event_filter: EventFilter, cursor: int = 0) -> Subscription:
        """Register a subscriber; it receives nothing until ``go_live``."""
        subscription = Subscription(self, organization_id, event_filter, cursor)
        self._subscriptions.setdefault(organization_id, set()).add(subscription)
        self._demand_changed()
        return subscription

    def go_live(self, subscription: Subscription) -> None:
        subscription.live = True
        self._schedule(subscription.organization_id)

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.closed = True
        subscriptions = self._subscriptions.get(subscription.organization_id)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._subscriptions[subscription.organization_id]
            self._demand_changed()

    def subscriptions(self) -> list[Subscription]:
        return [s for group in self._subscriptions.values() for s in group]

    # -- what wakes the hub -------------------------------------------------------------------

    def notify(self, notices: Iterable[EventNotice]) -> None:
        notices = list(notices)
        if notices:
            self._tell_watchers()
        for notice in notices:
            if notice.organization_id in self._subscriptions:
                self._schedule(notice.organization_id)

    def committed_here(self, notices: Sequence[EventNotice]) -> None:
        """A commit of this process: its senders are woken at once, its subscribers too unless
        the commit's notice reaches them through LISTEN (the events read once, not twice). A
        process that began listening after the commit reads it in the resync that follows."""
        if not self.hears_own():
            self.notify(notices)
        elif notices:
            self._tell_watchers()

    def _tell_watchers(self) -> None:
        for watcher in self.watchers:
            watcher()

    def notify_one(self, notice: EventNotice) -> None:
        self.notify((notice,))

    def resync(self) -> None:
        """Read every subscribed organization again from the table (notices may have been lost)."""
        self._tell_watchers()
        for organization_id in list(self._subscriptions):
            self._schedule(organization_id)

    async def stop(self) -> None:
        tasks = list(self._fetchers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- fetching -------------------------------------------------------------------------------

    def _schedule(self, organization_id: str) -> None:
        self._pending.add(organization_id)
        task = self._fetchers.get(organization_id)
        if task is None or task.done():
            self._fetchers[organization_id] = asyncio.create_task(self._drain(organization_id))

    async def _drain(self, organization_id: str) -> None:
        while organization_id in self._pending:
            self._pending.discard(organization_id)
            live = [s for s in self._subscriptions.get(organization_id, ()) if s.live]
            if not live:
                continue
            lower = min(s.cursor for s in live)
            try:
                rows = await events_after(self.uow, organization_id, lower, FETCH_PAGE)
            except Exception:  # the database is away: keep every cursor and try again
                logger.exception("reading the events of organization %s failed; retrying", organization_id)
                await asyncio.sleep(RETRY_SECONDS)
                self._pending.add(organization_id)
                continue
            for subscription in live:
                # One that went away or fell behind meanwhile is no longer offered anything;
                # one that went live meanwhile with an older cursor is served next round.
                if subscription.closed or subscription.cursor < lower:
                    continue
                for row in rows:
                    subscription.offer(row)
                self.fanned_out += len(rows)
            if len(rows) == FETCH_PAGE:
                self._pending.add(organization_id)
        self._fetchers.pop(organization_id, None)


async def follow(
    hub: EventHub,
    organization_id: str,
    event_filter: EventFilter,
    *,
    after: int | None,
    on_overflow: Callable[[], None] | None = None,
) -> AsyncIterator[RmaOrderEventRecord]:
    """The organization's matching events: those after ``after`` from the table, then live.

    The subscriber registers before replaying, so nothing committed during the replay is
    missed; positions make the switch to live exact, with no duplicate.
    """
    subscription = hub.subscribe(organization_id, event_filter)
    subscription.on_overflow = on_overflow
    try:
        if after is None:
            subscription.cursor = await current_position(hub.uow, organization_id)
        else:
            subscription.cursor = after
            while True:
                rows, complete_to = await replay_page(
                    hub.uow, organization_id, subscription.cursor, event_filter, hub.replay_page_size
                )
                for row in rows:
                    yield row
                subscription.cursor = complete_to
                if len(rows) < hub.replay_page_size:
                    break
        hub.go_live(subscription)
        while True:
            yield await subscription.get()
    finally:
        hub.unsubscribe(subscription)
