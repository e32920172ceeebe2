"""Bulk actions: one action on up to 500 RMA orders, each changed in its own transaction
exactly as the single action would change it, a failure on one never affecting the others;
and their progress, followed live (``bulkActionProgress``)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import Any

import orjson

from rma_graphql.db import notices
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, DomainError
from rma_graphql.service import custom_states
from rma_graphql.service.rma_orders import perform_action
from rma_graphql.service.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

MAX_BULK = 500
# How long the progress of a finished run stays known (a late subscriber gets its end).
KEEP_FINISHED_SECONDS = 600.0
# How long a run that tells nothing more is kept (its process ended before it finished).
KEEP_SILENT_SECONDS = 3600.0
# How long a follower waits for a notice before reading the run's progress as last told.
LOOK_AGAIN_SECONDS = 1.0


class BulkAction(StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    HOLD = "HOLD"
    RESUME = "RESUME"
    START_FULFILLMENT = "START_FULFILLMENT"
    COMPLETE_PROCESSING = "COMPLETE_PROCESSING"
    SET_CUSTOM_STATE = "SET_CUSTOM_STATE"


ACTIONS = {
    BulkAction.ACCEPT: Action.ACCEPT,
    BulkAction.REJECT: Action.REJECT,
    BulkAction.CANCEL: Action.CANCEL,
    BulkAction.HOLD: Action.HOLD,
    BulkAction.RESUME: Action.RESUME,
    BulkAction.START_FULFILLMENT: Action.START_FULFILLMENT,
    BulkAction.COMPLETE_PROCESSING: Action.COMPLETE_PROCESSING,
    BulkAction.SET_CUSTOM_STATE: Action.SET_CUSTOM_STATE,
}
# The actions that take the run's reason.
WITH_REASON = frozenset({BulkAction.REJECT, BulkAction.CANCEL, BulkAction.HOLD})


@dataclass(frozen=True)
class BulkCommand:
    action: BulkAction
    ids: Sequence[str]
    reason: str | None = None
    custom_state_code: str | None = None
    expected_versions: Mapping[str, int] | None = None


@dataclass(frozen=True)
class BulkItem:
    id: str
    ok: bool
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Progress:
    """Where a run stands."""

    id: str
    organization_id: str
    action: str
    total: int
    done: int = 0
    ok_count: int = 0
    error_count: int = 0
    finished: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "o": self.organization_id,
            "a": self.action,
            "t": self.total,
            "d": self.done,
            "k": self.ok_count,
            "e": self.error_count,
            "f": self.finished,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Progress":
        return cls(
            id=str(data["id"]),
            organization_id=str(data["o"]),
            action=str(data["a"]),
            total=int(data["t"]),
            done=int(data["d"]),
            ok_count=int(data["k"]),
            error_count=int(data["e"]),
            finished=bool(data["f"]),
        )


class BulkProgress:
    """The runs' progress in this process: told by ``publish`` (the running process itself
    on SQLite; every process through PostgreSQL's NOTIFY), followed by subscribers."""

    def __init__(self) -> None:
        # By organization and run id (a run's id is its client's choice).
        self._runs: dict[tuple[str, str], tuple[Progress, float]] = {}
        self._changed = asyncio.Condition()
        # How a run announces its progress (set by the app: NOTIFY on PostgreSQL).
        self.publish: Callable[[Progress], Any] = self.told
        # Where a run's progress is read as last told, by a process that may not have heard it
        # (set by the app on PostgreSQL, where a process listens only while it has followers).
        self.lookup: Callable[[str, str], Awaitable[Progress | None]] | None = None
        # The subscribers following a run here, and who is told when that changes (the hub).
        self.followers = 0
        self.on_followers: Callable[[], None] | None = None

    def told(self, progress: Progress) -> None:
        """A run's progress, as announced."""
        key = (progress.organization_id, progress.id)
        known = self._runs.get(key)
        if known is not None and known[0].done > progress.done:
            return  # an older notice, arriving late
        self._runs[key] = (progress, time.monotonic())
        self._forget_old()
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _forget_old(self) -> None:
        now = time.monotonic()
        old = [
            key
            for key, (progress, at) in self._runs.items()
            if now - at > (KEEP_FINISHED_SECONDS if progress.finished else KEEP_SILENT_SECONDS)
        ]
        for key in old:
            del self._runs[key]

    async def follow(self, run_id: str, organization_id: str) -> AsyncIterator[Progress]:
        """The run's progress as it goes (from where it stands now, waiting for it to start
        when it has not), until it finishes. Another organization's run is never shown."""
        last: Progress | None = None
        self._followed(+1)
        try:
            while last is None or not last.finished:
                news = partial(self._news, run_id, organization_id, last)
                if self.lookup is not None and not news():
                    await self._look_up(run_id, organization_id)
                async with self._changed:
                    # A notice may come before this process listened: look again after a while.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(None if self.lookup is None else LOOK_AGAIN_SECONDS):
                            await self._changed.wait_for(news)
                if news():
                    last = self._runs[organization_id, run_id][0]
                    yield last
        finally:
            self._followed(-1)

    async def _look_up(self, run_id: str, organization_id: str) -> None:
        """Learn the run's progress as last told; the database away, wait for the next look."""
        assert self.lookup is not None
        try:
            told = await self.lookup(run_id, organization_id)
        except Exception:  # progress is a courtesy: the follower goes on waiting
            logger.warning("bulk action progress not read", exc_info=True)
            return
        if told is not None:
            self.told(told)

    def _followed(self, change: int) -> None:
        self.followers += change
        if self.on_followers is not None:
            self.on_followers()

    def _news(self, run_id: str, organization_id: str, last: Progress | None) -> bool:
        known = self._runs.get((organization_id, run_id))
        return known is not None and (last is None or known[0] != last)


def announced_through(uow: UnitOfWork) -> Callable[[Progress], Awaitable[None]]:
    """On PostgreSQL: a run tells its progress to every server process (NOTIFY), where
    ``told_payload`` hands it to their ``BulkProgress``; a subscriber may be on any."""

    async def publish(progress: Progress) -> None:
        payload = orjson.dumps(progress.to_json()).decode()
        if uow.in_dry_run:  # told, not kept: a dry run leaves no row
            await notices.notify(uow.engine, notices.BULK_PROGRESS_CHANNEL, payload)
            return
        await notices.tell_progress(uow.engine, progress.id, progress.organization_id, progress.done, payload)

    return publish


def looked_up_through(uow: UnitOfWork) -> Callable[[str, str], Awaitable[Progress | None]]:
    """On PostgreSQL: a run's progress as last told, for a process that did not hear it."""

    async def lookup(run_id: str, organization_id: str) -> Progress | None:
        payload = await notices.told_progress(uow.engine, run_id, organization_id)
        return None if payload is None else Progress.from_json(orjson.loads(payload))

    return lookup


def told_payload(progress: BulkProgress) -> Callable[[str], None]:
    def told(payload: str) -> None:
        try:
            found = Progress.from_json(orjson.loads(payload))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed bulk progress notice: %r", payload[:200])
            return
        progress.told(found)

    return told


def check_count(count: int) -> None:
    """At most ``MAX_BULK`` RMA orders, as given (before duplicates are dropped)."""
    if count > MAX_BULK:
        raise BadUserInputError(
            f"A bulk action takes at most {MAX_BULK} RMA orders; {count} were given.",
            "input.ids",
            reason="TOO_MANY",
        )


def check_command(command: BulkCommand) -> None:
    """What a run needs before it starts (refused whole, nothing changed)."""
    check_count(len(command.ids))
    if command.action is BulkAction.SET_CUSTOM_STATE and command.custom_state_code is None:
        raise BadUserInputError("SET_CUSTOM_STATE needs a customStateCode.", "input.customStateCode")
    if command.action is not BulkAction.SET_CUSTOM_STATE and command.custom_state_code is not None:
        raise BadUserInputError("customStateCode goes with SET_CUSTOM_STATE only.", "input.customStateCode")
    if command.reason is not None and command.action not in WITH_REASON:
        raise BadUserInputError(f"A reason goes with {', '.join(sorted(WITH_REASON))} only.", "input.reason")


async def run(
    uow: UnitOfWork, caller: Caller, progress: BulkProgress, run_id: str, command: BulkCommand
) -> list[BulkItem]:
    """Run the action on each RMA order in turn, each in its own transaction."""
    check_command(command)
    state = Progress(run_id, caller.organization_id, command.action.value, len(command.ids))
    await _announce(progress, state)
    items: list[BulkItem] = []
    for rma_id in command.ids:
        item = await _one(uow, caller, rma_id, command)
        items.append(item)
        state = replace(
            state,
            done=state.done + 1,
            ok_count=state.ok_count + item.ok,
            error_count=state.error_count + (not item.ok),
        )
        if state.done % _step(state.total) == 0 or state.done == state.total:
            await _announce(progress, replace(state, finished=state.done == state.total))
    if not command.ids:
        await _announce(progress, replace(state, finished=True))
    return items


def _step(total: int) -> int:
    """Progress is told after every item of a small run, about every 1% of a large one."""
    return max(1, total // 100)


async def _announce(progress: BulkProgress, state: Progress) -> None:
    try:
        result = progress.publish(state)
        if asyncio.iscoroutine(result):
            await result
    except Exception:  # progress is a courtesy: the run goes on without it
        logger.warning("bulk action progress not announced", exc_info=True)


async def _one(uow: UnitOfWork, caller: Caller, rma_id: str, command: BulkCommand) -> BulkItem:
    expected = (command.expected_versions or {}).get(rma_id)
    try:
        if command.action is BulkAction.SET_CUSTOM_STATE:
            await custom_states.set_custom_state(
                uow, caller, rma_id, command.custom_state_code, expected_version=expected
            )
        else:
            params = {"reason": command.reason} if command.action in WITH_REASON else {}
            await perform_action(
                uow, caller, rma_id, ACTIONS[command.action], expected_version=expected, **params
            )
    except DomainError as error:
        return BulkItem(rma_id, False, error.extensions()["code"], error.message)
    except Exception:
        logger.exception("bulk action failed on one RMA order", extra={"rma_order_id": rma_id})
        return BulkItem(rma_id, False, "INTERNAL_SERVER_ERROR", "This RMA order could not be changed.")
    return BulkItem(rma_id, True)
