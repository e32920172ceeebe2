"""The ASGI application: ``create_app(settings)``. The engine is made in the lifespan."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rma_graphql.api.assets import CompressedAssets
from rma_graphql.api.oauth import token_endpoint
from rma_graphql.api.observability import Metrics, RequestObserver
from rma_graphql.api.schema import build_schema
from rma_graphql.api.view import ASSETS, RmaGraphQL, asset_directory
from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.db.listener import PostgresListener
from rma_graphql.logs import configure_logging
from rma_graphql.service import slips
from rma_graphql.service.accounts import Accounts, admin_caller, demo_client_id
from rma_graphql.service.accounts import demo_organization_id as find_demo_organization
from rma_graphql.service.hub import EventHub
from rma_graphql.service.rate_limits import Limit, RateLimiter
from rma_graphql.service.unit_of_work import UnitOfWork

MAX_BODY_BYTES = 1024 * 1024
logger = logging.getLogger("rma_graphql")


class BodySizeLimit:
    """Answers 413 for a request body over the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await _too_large(scope, receive, send)


class _BodyTooLargeError(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        {
            "errors": [
                {"message": "The request body is over 1 MiB.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
            ]
        },
        status_code=413,
    )
    await response(scope, receive, send)


class Cors(CORSMiddleware):
    """CORS for the allowed origins (``RMA_ALLOWED_ORIGINS``); any other origin's preflight
    gets no ``Access-Control-Allow-Origin``, and the log says once per origin what would
    allow it."""

    MAX_ORIGINS_LOGGED = 1000

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...]) -> None:
        super().__init__(
            app,
            allow_origins=list(allowed_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
        )
        self._logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc == headers.get("host"):
                # Same origin (GraphiQL and the pages served here): CORS has no part in it.
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        allowed = super().is_allowed_origin(origin)
        if not allowed and origin not in self._logged and len(self._logged) < self.MAX_ORIGINS_LOGGED:
            self._logged.add(origin)
            logger.warning(
                "refused a cross-origin request from %s: add it to RMA_ALLOWED_ORIGINS "
                "(comma-separated origins) to allow browsers there to call this server",
                origin,
            )
        return allowed


async def _demo_organization(uow: UnitOfWork) -> str | None:
    async with uow.read() as conn:
        return await find_demo_organization(conn)


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
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None, *, span_exporter: Any = None) -> Starlette:
    """The ASGI app. ``span_exporter`` receives the traces instead of the configured
    exporter (for tests); tracing is on when it is given or ``traces_exporter`` is set."""
    settings = settings or Settings.from_environment()
    state: dict[str, Any] = {}
    tracer_provider = None
    if span_exporter is not None or settings.traces_exporter != "none":
        from rma_graphql.api.tracing import start_tracing

        tracer_provider = start_tracing(settings.traces_exporter, span_exporter)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings)
        uow = UnitOfWork(engine)
        hub = EventHub(uow, queue_limit=settings.subscription_queue_limit)
        listener: PostgresListener | None = None
        if settings.is_sqlite:
            # One process serves the embedded database: commits wake the hub directly.
            uow.on_commit = hub.notify
        else:
            listener = PostgresListener(
                settings.database_url,
                hub.notify_one,
                hub.resync,
                health_interval=settings.listener_health_seconds,
            )
            await listener.start()
        accounts = await Accounts.from_settings(uow, settings)
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
        graphql: RmaGraphQL = state["graphql"]
        graphql.uow, graphql.hub, graphql.accounts = uow, hub, accounts
        graphql.token_limiter, graphql.address_limiter = token_limiter, address_limiter
        demo = await _demo_organization(uow) if settings.is_sqlite else None
        if not settings.authentication:
            if demo is None:
                raise RuntimeError("authentication can be off only on a database with a demo organization")
            logger.warning(
                "authentication is OFF: every request acts with every scope in the demo organization"
            )
            graphql.open_caller = admin_caller(demo)
        elif demo is not None:
            graphql.demo_headers = await _demo_headers(uow, accounts, demo)
        state["engine"] = engine
        state["accounts"] = accounts
        state["address_limiter"] = address_limiter
        app.state.engine = engine
        app.state.accounts = accounts
        app.state.token_limiter = token_limiter
        app.state.address_limiter = address_limiter
        app.state.uow = uow
        app.state.hub = hub
        app.state.listener = listener
        try:
            yield
        finally:
            await token_limiter.stop()
            await address_limiter.stop()
            if listener is not None:
                await listener.stop()
            await hub.stop()
            await engine.dispose()

    graphql = RmaGraphQL(
        build_schema(introspection=settings.introspection, tracer_provider=tracer_provider),
        graphql_ide="graphiql" if settings.graphiql else None,
        allowed_origins=settings.allowed_origins,
    )
    state["graphql"] = graphql

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with asyncio.timeout(2):
                async with state["engine"].connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database means not ready
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    sdl = graphql.schema.as_str() + "\n"

    async def schema_sdl(request: Request) -> Response:
        if not settings.introspection:
            return JSONResponse({"statusCode": 404, "message": "Not found"}, status_code=404)
        return Response(sdl, media_type="text/plain; charset=utf-8")

    async def return_slip(request: Request) -> Response:
        rma_id = request.path_params["rma_id"]
        query = request.query_params
        if not slips.link_is_valid(
            state["accounts"], rma_id, query.get("expires", ""), query.get("signature", "")
        ):
            return JSONResponse({"statusCode": 403, "message": "Invalid or expired link"}, status_code=403)
        pdf = await slips.slip(request.app.state.uow, rma_id)
        if pdf is None:
            return JSONResponse({"statusCode": 404, "message": "Not found"}, status_code=404)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="return-slip-{rma_id}.pdf"'},
        )

    metrics = Metrics(state=None)
    middleware = [
        Middleware(RequestObserver, metrics=metrics),
        Middleware(BodySizeLimit),
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
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/return-slips/{rma_id}.pdf", return_slip),
            Route(ASSETS + "/{name}", CompressedAssets(asset_directory())),
            Route("/schema.graphql", schema_sdl),
            Route("/metrics", metrics.endpoint),
            Route("/", home),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    metrics.watch(app.state)
    return app
