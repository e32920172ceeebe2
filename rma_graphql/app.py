"""The ASGI application: ``create_app(settings)``. The engine is made in the lifespan."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rma_graphql.api.schema import build_schema
from rma_graphql.api.view import ASSETS, RmaGraphQL, asset_directory
from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.db.listener import PostgresListener
from rma_graphql.service.configurations import demo_organization_id
from rma_graphql.service.hub import EventHub
from rma_graphql.service.unit_of_work import UnitOfWork

MAX_BODY_BYTES = 1024 * 1024


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


class Organizations:
    """The organization requests act in until authentication exists: the demo one."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._demo: str | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        if self._demo is None:
            async with self._lock:
                if self._demo is None:
                    async with self.uow.read() as conn:
                        self._demo = await demo_organization_id(conn)
                if self._demo is None:
                    raise RuntimeError(
                        "the database has no organization: run `rma-graphql migrate` or `serve`"
                    )
        return self._demo


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_environment()
    state: dict[str, Any] = {}

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
        state["engine"] = engine
        state["graphql"].uow = uow
        state["graphql"].hub = hub
        state["graphql"].organization = Organizations(uow)
        app.state.engine = engine
        app.state.uow = uow
        app.state.hub = hub
        app.state.listener = listener
        try:
            yield
        finally:
            if listener is not None:
                await listener.stop()
            await hub.stop()
            await engine.dispose()

    graphql = RmaGraphQL(
        build_schema(introspection=settings.introspection),
        uow=None,  # set by the lifespan, which owns the engine
        organization=None,
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

    middleware = [Middleware(BodySizeLimit)]
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
            )
        )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount(ASSETS, app=StaticFiles(directory=asset_directory())),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
