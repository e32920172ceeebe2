"""Fixtures: a migrated database (SQLite, or PostgreSQL when RMA_TEST_DATABASE says so),
emptied before each test, and the real app served by uvicorn on a loopback port."""

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.app import create_app
from rma_graphql.config import Settings
from rma_graphql.db.migrate import migrate
from rma_graphql.db.tables import metadata
from rma_graphql.service.accounts import create_client, ensure_demo_organization
from rma_graphql.service.unit_of_work import UnitOfWork

DATABASE = os.environ.get("RMA_TEST_DATABASE", "sqlite")


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
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **TEST_SETTINGS)


async def _empty_database(settings: Settings) -> None:
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(table.name for table in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    await engine.dispose()


@pytest.fixture
async def organization_id(settings: Settings) -> str:
    await _empty_database(settings)
    from rma_graphql.db.engine import create_engine

    engine = create_engine(settings)
    try:
        return await ensure_demo_organization(UnitOfWork(engine))
    finally:
        await engine.dispose()


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


class Server:
    """The app served by uvicorn on a loopback port, in the test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
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

    async def token(self, organization_id: str, scopes: str | None = None) -> str:
        return await client_token(self.url, self.settings.database_url, organization_id, scopes)


@pytest.fixture
async def server(settings: Settings, organization_id: str) -> AsyncIterator[Server]:
    async with Server(settings) as running:
        yield running


@pytest.fixture
async def admin_token(server: Server, organization_id: str) -> str:
    """A token of an API client with every scope in the demo organization."""
    return await server.token(organization_id)


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
async def http(server: Server, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers) as client:
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@contextlib.asynccontextmanager
async def shared_client(database_url: str) -> AsyncIterator[GraphQLClient]:
    """One server and one admin client for a whole module whose tests each make their own
    RMA orders and need no empty database (a module fixture with ``loop_scope="module"``)."""
    settings = Settings(database_url=database_url, **TEST_SETTINGS)
    await _empty_database(settings)
    from rma_graphql.db.engine import create_engine

    engine = create_engine(settings)
    try:
        organization_id = await ensure_demo_organization(UnitOfWork(engine))
    finally:
        await engine.dispose()
    async with Server(settings) as server:
        token = await server.token(organization_id)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers) as http:
            yield GraphQLClient(http)
