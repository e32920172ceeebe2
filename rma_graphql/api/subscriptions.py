"""Subscriptions: the organization's events and RMA orders, live over websockets."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, TypeVar

import strawberry
from starlette.websockets import WebSocket

from rma_graphql.api.bulk_actions import RmaBulkActionProgress, bulk_action_progress
from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderEventType
from rma_graphql.api.history_types import RmaOrderEvent
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.loaders import Loaders
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_order_type import RmaOrderType
from rma_graphql.domain.access import VIEW_RMA_ORDERS
from rma_graphql.domain.errors import NotFoundError, UnauthorizedError
from rma_graphql.service import queries
from rma_graphql.service.events import EventFilter, parse_position, position_through_version, revisions_from
from rma_graphql.service.hub import EventHub, follow
from rma_graphql.service.records import RmaOrderVersion

# "Try again later": the client may reconnect and resume from the last position it saw.
SLOW_SUBSCRIBER_CLOSE_CODE = 1013
# rmaOrderUpdated reads the revision of a version with those of the versions after it, up to
# this many: a replay reads them in one statement, a live change its own.
REVISIONS_PER_READ = 50

# Closing a socket whose client does not read waits for it; these tasks must stay referenced.
_closing: set[asyncio.Task[None]] = set()


def _hub(info: RmaInfo) -> EventHub:
    hub = context_of(info).hub
    assert hub is not None, "the app's lifespan has not started"
    return hub


async def _existing_rma(info: RmaInfo, rma_id: str | None, field: str) -> str | None:
    if rma_id is None:
        return None
    ctx = context_of(info)
    parsed = parse_uuid(rma_id, field)
    if await queries.rma_order_row(ctx.uow, ctx.authenticated, parsed) is None:
        raise NotFoundError(f"RMA order {parsed} not found.", parsed)
    return parsed


async def event_filter(
    info: RmaInfo, rma_order_id: str | None, types: list[RmaOrderEventType] | None
) -> EventFilter:
    return EventFilter(
        rma_order_id=await _existing_rma(info, rma_order_id, "rmaOrderId"),
        types=frozenset(t.value for t in types) if types else None,
        customer_id=context_of(info).authenticated.customer_id,
    )


def _disconnect(info: RmaInfo, limit: int) -> Callable[[], None]:
    """What to do when this subscriber falls too far behind: stop it and close its socket.

    The operation task is cancelled first: it may be blocked sending to a client that does
    not read, and cancelling it frees the subscription at once. The close frame then waits
    for the socket to drain; the client sees code 1013 and the reason once it reads again.
    """
    websocket = context_of(info).request
    operation = asyncio.current_task()
    reason = f"subscriber fell more than {limit} events behind"

    def disconnect() -> None:
        if operation is not None:
            operation.cancel()
        if isinstance(websocket, WebSocket):
            task = asyncio.create_task(_close(websocket, reason))
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    return disconnect


async def _close(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.close(code=SLOW_SUBSCRIBER_CLOSE_CODE, reason=reason)


T = TypeVar("T")


async def _while_authorized(info: RmaInfo, source: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Pass the source's items on until the caller's token expires or is revoked, then end
    the subscription with UNAUTHORIZED."""
    ctx = context_of(info)
    accounts, caller = ctx.accounts, ctx.authenticated
    if accounts is None or caller.token_id is None:
        async for item in source:
            yield item
        return
    expired = UnauthorizedError("The subscription's token expired or was revoked.")
    try:
        while True:
            step = asyncio.ensure_future(anext(source))
            try:
                while not step.done():
                    await asyncio.wait({step}, timeout=accounts.recheck_in(caller))
                    if not step.done() and not await accounts.still_valid(caller):
                        raise expired
            finally:
                if not step.done():
                    step.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await step
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            if not await accounts.still_valid(caller):
                raise expired
            yield item
    finally:
        if isinstance(source, AsyncGenerator):
            await source.aclose()


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The organization's events: with `after`, those after that position first, then live.",
        **scoped(VIEW_RMA_ORDERS),
    )
    async def rma_order_events(
        self,
        info: RmaInfo,
        rma_order_id: str | None = None,
        after: str | None = None,
        types: list[RmaOrderEventType] | None = None,
    ) -> AsyncGenerator[RmaOrderEvent, None]:
        hub = _hub(info)
        f = await event_filter(info, rma_order_id, types)
        position = parse_position(after, "after") if after is not None else None
        organization_id = context_of(info).authenticated.organization_id
        events = follow(
            hub, organization_id, f, after=position, on_overflow=_disconnect(info, hub.queue_limit)
        )
        async for row in _while_authorized(info, events):
            yield RmaOrderEvent.from_row(row)

    @strawberry.subscription(
        description="One payload per committed change of the RMA order, showing it as of that version. "
        "With `afterVersion`, the versions after it that are already committed come first (a page that "
        "shows version 3 asks for those after 3, and misses no change made before it subscribed), then "
        "live; without, it sends nothing when it starts.",
        **scoped(VIEW_RMA_ORDERS),
    )
    async def rma_order_updated(
        self,
        info: RmaInfo,
        id: str,
        after_version: Annotated[
            int | None,
            strawberry.argument(description="The version the client has: the changes after it are sent."),
        ] = None,
    ) -> AsyncGenerator[RmaOrderType, None]:
        hub = _hub(info)
        rma_id = await _existing_rma(info, id, "id")
        assert rma_id is not None
        ctx = context_of(info)
        version = after_version
        after = (
            None
            if after_version is None
            else await position_through_version(ctx.uow, rma_id, after_version, "afterVersion")
        )
        events = follow(
            hub,
            ctx.authenticated.organization_id,
            EventFilter(rma_order_id=rma_id, customer_id=ctx.authenticated.customer_id),
            after=after,
            on_overflow=_disconnect(info, hub.queue_limit),
        )
        read: dict[int, RmaOrderVersion] = {}
        async for row in _while_authorized(info, events):
            if version is not None and row.version <= version:
                continue  # the same change's other events, or one the client has
            version = row.version
            if version not in read:
                read = await revisions_from(ctx.uow, rma_id, version, REVISIONS_PER_READ)
            yield RmaOrderType.from_revision(read.pop(version), Loaders(ctx.uow))

    @strawberry.subscription(
        description="A bulk action's progress (rmaOrdersBulkAction's payload id, or the id its input gave): "
        "where it stands now, or as soon as it starts, then as it goes; it ends when the run finishes. "
        "A finished run stays known for ten minutes.",
        **scoped(VIEW_RMA_ORDERS),
    )
    async def bulk_action_progress(
        self, info: RmaInfo, id: strawberry.ID
    ) -> AsyncGenerator[RmaBulkActionProgress, None]:
        async for progress in _while_authorized(info, bulk_action_progress(info, id)):
            yield progress
