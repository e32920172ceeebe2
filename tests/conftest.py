"""Fixtures: a migrated database (SQLite, or PostgreSQL when RMA_TEST_DATABASE says so),
one app per test run with its lifespan started, called in-process through httpx's ASGI
transport, and a fresh organization per test. Tests that need a real socket (websockets,
transport limits, several processes) ask for ``server``: the app served by uvicorn on a
loopback port, which their ``gql`` then talks to."""

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from rma_graphql.api.observability import Metrics
from rma_graphql.app import create_app
from rma_graphql.config import Settings
from rma_graphql.db.migrate import migrate
from rma_graphql.http_protocol import HttpProtocol
from rma_graphql.service.organizations import create_client, create_organization
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.startup import collector_paused
from tests.helpers import bearer

DATABASE = os.environ.get("RMA_TEST_DATABASE", "sqlite")
# Under pytest-xdist each worker (gw0, gw1, …) has databases of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# The address in-process requests come from (a documentation address): the servers that
# tests start on loopback count 127.0.0.1's requests apart from them.
IN_PROCESS_CLIENT = ("192.0.2.10", 50000)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """Collecting imports every test module, the app and the libraries: objects that live as
    long as the run, which the garbage collector would walk again and again for nothing. It
    is paused meanwhile, and they are then frozen out of its sight, as the command's own
    imports are (rma_graphql/startup.py)."""
    with collector_paused():
        return (yield)


# The run with compiled plans off (scripts/test.sh) repeats the API tests a plan answered
# something for (a read, or an action's change and answer) in the run with them on: the
# others ran per-field execution only, the same either way. That run notes them in the
# directory RMA_TEST_RECORD_PLANNED names; the run with plans off, given the same directory
# as RMA_TEST_ONLY_PLANNED, runs them alone.
RECORD_PLANNED = os.environ.get("RMA_TEST_RECORD_PLANNED")
ONLY_PLANNED = os.environ.get("RMA_TEST_ONLY_PLANNED")
_planned = [False]


def _noting_plans(count: Any) -> Any:
    def noted(metrics: Metrics, outcome: str) -> None:
        if outcome != "fallback":
            _planned[0] = True
        count(metrics, outcome)

    return noted


if RECORD_PLANNED:
    Metrics.read_plan = _noting_plans(Metrics.read_plan)  # type: ignore[method-assign]
    Metrics.action_plan = _noting_plans(Metrics.action_plan)  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    _planned[0] = False
    result = yield
    if RECORD_PLANNED and _planned[0]:
        with open(Path(RECORD_PLANNED) / f"planned-{WORKER or 'main'}.txt", "a") as record:
            record.write(item.nodeid + "\n")
    return result


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ONLY_PLANNED:
        return
    records = list(Path(ONLY_PLANNED).glob("planned-*.txt"))
    if not records:
        raise pytest.UsageError(f"RMA_TEST_ONLY_PLANNED: no run noted what plans answered in {ONLY_PLANNED}")
    planned = {line for record in records for line in record.read_text().splitlines()}
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in planned])
    items[:] = [item for item in items if item.nodeid in planned]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test (``item.rep_call``), for fixtures that keep
    artifacts of a failed test (a browser's screenshot)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if DATABASE == "postgresql":
        url = os.environ["RMA_TEST_POSTGRES_URL"]
        if WORKER:
            url = asyncio.run(_fresh_database(url, f"rma_test_{WORKER}"))

        async def reset() -> None:
            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset())
        migrate(url)
        yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}"
        migrate(url)
        yield url


# Cheap password hashes and limits out of the way; the tests that need them set their own.
TEST_SETTINGS: dict[str, Any] = {
    "password_time_cost": 1,
    "password_memory_kib": 8,
    "password_parallelism": 1,
    "rate_limit_per_minute": 1_000_000,
    "rate_limit_per_second": 1_000_000,
    "auth_rate_limit_per_minute": 1_000_000,
    # A token's revocation check is cached for the test's length, so that statement
    # counts do not depend on timing; revocation tests set it to 0.
    "token_check_seconds": 600.0,
    # The shared app sends no webhooks (a sender reading in the background would disturb
    # statement counts); the webhook tests serve an app of their own that does.
    "webhook_delivery": False,
    "webhook_allow_private_networks": True,
    # Nor notifications: the notification tests serve an app of their own that does.
    "notification_delivery": False,
    # Uploaded pictures go to a folder of the test run's own.
    "upload_dir": tempfile.mkdtemp(prefix="rma-uploads-"),
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **TEST_SETTINGS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(database_url: str) -> AsyncIterator[Starlette]:
    """The app every in-process test calls, its lifespan started once per test run."""
    application = create_app(Settings(database_url=database_url, **TEST_SETTINGS))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def engine(app: Starlette) -> AsyncEngine:
    """The database engine of the in-process app (for snapshots and direct reads)."""
    engine: AsyncEngine = app.state.engine
    return engine


@pytest.fixture
async def organization_id(app: Starlette) -> str:
    """A new organization (with its warehouse and configuration) of the test's own."""
    return await create_organization(app.state.uow, f"Test organization {uuid.uuid4().hex[:12]}")


@pytest.fixture
async def scratch_url(database_url: str) -> AsyncIterator[str]:
    """A database of its own, for tests that move the schema up and down."""
    if not database_url.startswith("postgresql"):
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite+aiosqlite:///{Path(directory) / 'scratch.db'}"
        return
    name = f"rma_scratch{WORKER}"
    yield await _fresh_database(database_url, name)
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    await admin.dispose()


async def _fresh_database(url: str, name: str) -> str:
    """An empty PostgreSQL database ``name`` on the server of ``url``, and its URL."""
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def client_token(
    base_url: str, database_url: str, organization_id: str, scopes: str | None = None
) -> str:
    """A token through the real token endpoint, for a new API client of the organization."""
    from rma_graphql.db.engine import create_engine

    engine = create_engine(Settings(database_url=database_url))
    try:
        client_id, secret = await create_client(
            UnitOfWork(engine), organization_id, scopes=frozenset(scopes.split()) if scopes else None
        )
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def app_engines(app: Starlette) -> list[AsyncEngine]:
    """Every engine ``app`` runs statements on: its own, and on PostgreSQL its keyed reads'
    and its changes'."""
    others = (getattr(app.state, name, None) for name in ("keyed_reads", "changes_engine"))
    return [app.state.engine, *(engine for engine in others if engine is not None)]


class Server:
    """The app served by uvicorn on a loopback port, in the test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The protocol `rma-graphql serve` runs.
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            http=HttpProtocol,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Server":
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task

    @property
    def engine(self) -> Any:
        return self.app.state.engine

    @property
    def engines(self) -> list[Any]:
        """Every engine the app runs statements on (keyed reads have one on PostgreSQL)."""
        return app_engines(self.app)

    async def token(self, organization_id: str, scopes: str | None = None) -> str:
        return await client_token(self.url, self.settings.database_url, organization_id, scopes)

    async def client(self, organization_id: str, scopes: str | None = None) -> httpx.AsyncClient:
        """An HTTP client of this server bearing a new API client's token of the organization
        (to be closed: ``async with``)."""
        token = await self.token(organization_id, scopes)
        return httpx.AsyncClient(base_url=self.url, headers=bearer(token), timeout=60)


@pytest.fixture
async def server(settings: Settings, organization_id: str) -> AsyncIterator[Server]:
    async with Server(settings) as running:
        yield running


async def issued_token(app: Starlette, organization_id: str, scopes: str | None = None) -> str:
    """A token of a new API client of the organization, issued in-process (the token
    endpoint itself is tested on its own)."""
    client_id, _ = await create_client(
        app.state.uow, organization_id, scopes=frozenset(scopes.split()) if scopes else None
    )
    issue = await app.state.accounts.token_issuer(client_id)
    token: str = issue().token
    return token


@pytest.fixture
async def admin_token(app: Starlette, organization_id: str) -> str:
    """A token of an API client with every scope in the test's organization."""
    return await issued_token(app, organization_id)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, app: Starlette) -> tuple[str, httpx.AsyncBaseTransport | None]:
    """Where ``http`` sends requests: the uvicorn server when the test asks for one (its
    websockets and its mutations then meet in one process), else the app in-process."""
    if "server" in request.fixturenames:
        server: Server = request.getfixturevalue("server")
        return server.url, None
    return "http://testserver", httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @property
    def token(self) -> str:
        """The bearer token this client sends (for a websocket's connection_init)."""
        return str(self.http.headers["authorization"]).removeprefix("Bearer ")

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.execute(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        error: dict[str, Any] = body["errors"][0]
        return error


@pytest.fixture
async def http(
    endpoint: tuple[str, httpx.AsyncBaseTransport | None], admin_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    base_url, transport = endpoint
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(
        base_url=base_url, transport=transport, timeout=60, headers=headers
    ) as client:
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@contextlib.asynccontextmanager
async def app_client(app: Starlette) -> AsyncIterator[GraphQLClient]:
    """An admin client of a new organization, in-process (for module fixtures)."""
    organization_id = await create_organization(app.state.uow, f"Test organization {uuid.uuid4().hex[:12]}")
    token = await issued_token(app, organization_id)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
    async with httpx.AsyncClient(
        base_url="http://testserver", transport=transport, timeout=60, headers=headers
    ) as http:
        yield GraphQLClient(http)
