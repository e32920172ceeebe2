"""The ASGI application: ``create_app(settings)``. The engine is made in the lifespan."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from rma_graphql.api import routes
from rma_graphql.api.assets import CompressedAssets, web_routes
from rma_graphql.api.compiled_actions import ActionPlans
from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.fast_reads import FastReads
from rma_graphql.api.middleware import BodySizeLimit, Cors
from rma_graphql.api.oauth import token_endpoint
from rma_graphql.api.observability import Metrics, RequestObserver
from rma_graphql.api.schema import build_schema
from rma_graphql.api.uploads import upload_routes
from rma_graphql.api.view import ASSETS, RmaGraphQL, asset_directory
from rma_graphql.api.webhooks import WebhookBodies
from rma_graphql.config import Settings
from rma_graphql.db.engine import changes_engine, create_engine, keyed_reads_engine, ping
from rma_graphql.db.listener import PostgresListener
from rma_graphql.db.notices import BULK_PROGRESS_CHANNEL
from rma_graphql.logs import configure_logging, flush_logs
from rma_graphql.service import bulk_actions, slips
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.hub import EventHub
from rma_graphql.service.idempotency import Idempotency
from rma_graphql.service.notification_sender import NotificationSender
from rma_graphql.service.organizations import admin_caller, demo_client_id, demo_organization_id
from rma_graphql.service.rate_limits import Limit, RateLimiter
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.uploads import FolderStorage, Uploads
from rma_graphql.service.webhook_sender import WebhookSender
from rma_graphql.service.webhooks import secret_box

logger = logging.getLogger("rma_graphql")


async def _demo_headers(
    uow: UnitOfWork, accounts: Accounts, organization_id: str
) -> Callable[[], dict[str, str]] | None:
    """GraphiQL on the embedded database opens with a fresh token of the demo API client."""
    client_id = await demo_client_id(uow, organization_id)
    if client_id is None:
        return None
    issue = await accounts.token_issuer(client_id)

    def headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {issue().token}"}

    return headers


def create_served_app() -> Starlette:
    """The app as ``rma-graphql serve`` runs it in each process: logging set up first."""
    settings = Settings.from_environment()
    configure_logging(settings.log_format, settings.log_level, settings.log_flush_seconds)
    return create_app(settings)


_frozen = False

# The collector's first generation is collected once the objects made outnumber those freed
# by this many (Python's default: 700). A request frees the objects of earlier ones while it
# makes its own, so the young generation a collection walks holds far more than that: with
# 700, collections took 47-58 µs of a transition's CPU (455-478 collections in 6,000
# transitions in-process, 1,007-1,165 in 10 s at 2 workers), with 10,000 3-5 µs (6-10); the
# longest pause, 5-6 ms, is no longer than the default's own (its full collections). Cyclic
# garbage waits a little longer for a collection: at most about 10,000 more objects.
YOUNG_GENERATION_THRESHOLD = 10_000


def _freeze_startup_objects() -> None:
    """Once per process, when the first app has started: move what exists then (modules,
    the schema, the tables, the pool) out of the garbage collector's sight. Its full
    collections then walk only what requests made, and stop pausing every request for
    the whole heap (a page of RMA orders makes thousands of objects). Its young generation
    is collected after ``YOUNG_GENERATION_THRESHOLD`` more objects instead of 700."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def create_app(settings: Settings | None = None, *, span_exporter: Any = None) -> Starlette:
    """The ASGI app. ``span_exporter`` receives the traces instead of the configured
    exporter (for tests); tracing is on when it is given or ``traces_exporter`` is set."""
    settings = settings or Settings.from_environment()
    tracer_provider = None
    if span_exporter is not None or settings.traces_exporter != "none":
        from rma_graphql.api.tracing import start_tracing

        tracer_provider = start_tracing(settings.traces_exporter, span_exporter)
    graphql = RmaGraphQL(
        build_schema(introspection=settings.introspection, tracer_provider=tracer_provider),
        graphql_ide="graphiql" if settings.graphiql else None,
        allowed_origins=settings.allowed_origins,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    # What the token endpoint reads once the lifespan has started.
    state: dict[str, Any] = {}
    metrics = Metrics()
    if settings.compiled_reads:
        graphql.read_plans = ReadPlans(graphql.schema, metrics.read_plan)
        graphql.action_plans = ActionPlans(graphql.read_plans, metrics.action_plan)
    middleware = [
        Middleware(RequestObserver, metrics=metrics),
        Middleware(FastReads, view=graphql),
        Middleware(BodySizeLimit, larger={"/uploads": settings.upload_max_bytes + 64 * 1024}),
        Middleware(Cors, allowed_origins=settings.allowed_origins),
    ]
    if tracer_provider is not None:
        from rma_graphql.api.tracing import traced

        middleware.insert(0, Middleware(traced, provider=tracer_provider))
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth2/token", token_endpoint(state), methods=["POST"]),
            *routes.plain_routes(graphql.schema.as_str() + "\n", introspection=settings.introspection),
            Route(ASSETS + "/{name}", CompressedAssets(asset_directory())),
            *web_routes(),
            *upload_routes(graphql),
            Route("/metrics", metrics.endpoint),
        ],
        middleware=middleware,
        lifespan=_lifespan(settings, graphql, state),
    )
    metrics.watch(app.state)
    return app


def _lifespan(
    settings: Settings, graphql: RmaGraphQL, state: dict[str, Any]
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Start the engine, the event hub (and its PostgreSQL listener), the accounts and the
    rate limiters; hand them to the GraphQL view; stop them all at the end."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine, keyed_reads = create_engine(settings), keyed_reads_engine(settings)
        changes = changes_engine(settings)
        for other in (keyed_reads, changes):
            if other is not None:
                await ping(other)  # its dialect set up now, not in the first request's
        uow = UnitOfWork(engine, keyed_reads, changes, keep_connections=True)
        hub = EventHub.from_settings(uow, settings)
        listener = await _listen(settings, uow, hub)
        accounts = await Accounts.from_settings(uow, settings)
        token_limiter, address_limiter = _limiters(settings, uow)
        graphql.uow, graphql.hub, graphql.accounts = uow, hub, accounts
        webhooks = await _webhooks(settings, uow, hub, graphql)
        notifications = _notifications(settings, uow, hub, accounts)
        graphql.notifications = notifications
        graphql.idempotency = Idempotency(
            uow, ttl_seconds=settings.idempotency_ttl_seconds, wait_seconds=settings.idempotency_wait_seconds
        )
        graphql.token_limiter, graphql.address_limiter = token_limiter, address_limiter
        await _open_demo(settings, graphql, uow, accounts)
        state.update(engine=engine, accounts=accounts, address_limiter=address_limiter)
        app.state.engine, app.state.uow, app.state.hub, app.state.listener = engine, uow, hub, listener
        app.state.keyed_reads, app.state.changes_engine = keyed_reads, changes
        app.state.accounts, app.state.webhooks = accounts, webhooks
        app.state.notifications = notifications
        app.state.uploads = Uploads(
            uow,
            accounts,
            FolderStorage(settings.upload_dir),
            max_bytes=settings.upload_max_bytes,
            link_seconds=settings.upload_link_ttl_seconds,
        )
        app.state.token_limiter, app.state.address_limiter = token_limiter, address_limiter
        _freeze_startup_objects()
        try:
            yield
        finally:
            await notifications.stop()
            await webhooks.stop()
            await token_limiter.stop()
            await address_limiter.stop()
            if listener is not None:
                await listener.stop()
            await hub.stop()
            await uow.close()
            await engine.dispose()
            for other in (keyed_reads, changes):
                if other is not None:
                    await other.dispose()
            flush_logs()

    return lifespan


async def _webhooks(settings: Settings, uow: UnitOfWork, hub: EventHub, graphql: RmaGraphQL) -> WebhookSender:
    """The webhook sender: woken by every commit; sending unless left to worker processes."""
    sender = WebhookSender(
        uow, settings, await secret_box(uow, settings), WebhookBodies(graphql.schema).render
    )
    graphql.webhooks = sender
    if settings.webhook_delivery:
        hub.watchers.append(sender.heard_commit)
        sender.start()
    return sender


def _notifications(
    settings: Settings, uow: UnitOfWork, hub: EventHub, accounts: Accounts, *, start: bool | None = None
) -> NotificationSender:
    """The notification sender: woken by every commit; sending unless left to worker processes."""
    base = settings.public_url.rstrip("/")
    sender = NotificationSender(uow, settings, lambda rma_id: base + slips.signed_path(accounts, rma_id))
    if settings.notification_delivery if start is None else start:
        hub.watchers.append(sender.wake)
        sender.start()
    return sender


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """``rma-graphql worker``: send webhooks and notifications, and serve nothing, until ``stop`` is set. On
    PostgreSQL it hears every commit through LISTEN, and shares the work with the servers."""
    engine = create_engine(settings)
    uow = UnitOfWork(engine)
    hub = EventHub.from_settings(uow, settings)
    listener = await _listen(settings, uow, hub, on_demand=False)
    sender = WebhookSender(
        uow, settings, await secret_box(uow, settings), WebhookBodies(build_schema()).render
    )
    hub.watchers.append(sender.heard_commit)
    sender.start()
    notifications = _notifications(
        settings, uow, hub, await Accounts.from_settings(uow, settings), start=True
    )
    logger.info("sending webhooks")
    try:
        await stop.wait()
    finally:
        await notifications.stop()
        await sender.stop()
        if listener is not None:
            await listener.stop()
        await hub.stop()
        await engine.dispose()


async def _listen(
    settings: Settings, uow: UnitOfWork, hub: EventHub, *, on_demand: bool = True
) -> PostgresListener | None:
    """What wakes the hub: a process's own commits wake it directly; on PostgreSQL, other
    processes' commits reach it through LISTEN, which a server process holds only while it
    has subscribers (``on_demand``: its senders hear its own commits, and look for the others'
    every second anyway), and the sender process always."""
    uow.on_commit = hub.committed_here
    if settings.is_sqlite:
        return None
    listener = PostgresListener(
        settings.database_url,
        hub.notify_one,
        hub.resync,
        health_interval=settings.listener_health_seconds,
        channels={BULK_PROGRESS_CHANNEL: bulk_actions.told_payload(hub.bulk_progress)},
        on_demand=on_demand,
    )
    hub.bulk_progress.publish = bulk_actions.announced_through(uow)
    hub.bulk_progress.lookup = bulk_actions.looked_up_through(uow)
    if on_demand:
        hub.on_demand = listener.want
    hub.hears_own = lambda: listener.listening
    await listener.start()
    return listener


def _limiters(settings: Settings, uow: UnitOfWork) -> tuple[RateLimiter, RateLimiter]:
    """Per token, and per address for signUp, logIn and /oauth2/token; on PostgreSQL the
    processes share their counts."""
    shared = None if settings.is_sqlite else uow
    token_limiter = RateLimiter(
        "token",
        [Limit(settings.rate_limit_per_second, 1), Limit(settings.rate_limit_per_minute, 60)],
        uow=shared,
        sync_seconds=settings.rate_limit_sync_seconds,
    )
    address_limiter = RateLimiter(
        "address",
        [Limit(settings.auth_rate_limit_per_minute, 60)],
        uow=shared,
        sync_seconds=settings.rate_limit_sync_seconds,
    )
    token_limiter.start()
    address_limiter.start()
    return token_limiter, address_limiter


async def _open_demo(settings: Settings, graphql: RmaGraphQL, uow: UnitOfWork, accounts: Accounts) -> None:
    """On the embedded database: GraphiQL opens with a demo token, or, with authentication
    off, every request acts in the demo organization."""
    demo = await demo_organization_id(uow) if settings.is_sqlite else None
    if not settings.authentication:
        if demo is None:
            raise RuntimeError("authentication can be off only on a database with a demo organization")
        logger.warning("authentication is OFF: every request acts with every scope in the demo organization")
        graphql.open_caller = admin_caller(demo)
    elif demo is not None:
        graphql.demo_headers = await _demo_headers(uow, accounts, demo)
