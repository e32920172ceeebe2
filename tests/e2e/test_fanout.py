"""Events across server processes on one PostgreSQL, a lost LISTEN connection, and LISTEN
held only while a process has subscribers."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db.event_log import EVENT_CHANNEL
from rma_graphql.db.notices import BULK_PROGRESS_CHANNEL
from tests.api.test_bulk_actions import PROGRESS, bulk, finished
from tests.api.test_subscriptions import COMMENT, EVENTS, feed_position
from tests.conftest import DATABASE, GraphQLClient, Server, _free_port, client_token
from tests.helpers import act, create, in_one_minute_window
from tests.ws import SubscriptionClient, live

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="LISTEN/NOTIFY needs PostgreSQL")


# The tests send faster than a client is allowed to, except where they test the limits.
RAISED_LIMITS = {"RMA_RATE_LIMIT_PER_MINUTE": "1000000", "RMA_RATE_LIMIT_PER_SECOND": "1000000"}


class ServerProcess:
    """``rma-graphql serve`` in its own process, as an operator would run it."""

    def __init__(
        self, database_url: str, *, workers: int = 1, output: IO[str] | None = None, **environment: str
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = Path(sys.executable).parent / "rma-graphql"
        self.process = subprocess.Popen(
            [
                *(str(command), "serve", "--no-migrate", "--port", str(self.port)),
                *("--log-level", "warning", "--workers", str(workers)),
            ],
            env={**os.environ, "DATABASE_URL": database_url, **RAISED_LIMITS, **environment},
            stdout=output,
            stderr=output,
        )

    def __enter__(self) -> "ServerProcess":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server process exited"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server process did not start")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def test_a_subscriber_on_one_process_receives_all_mutations_sent_to_another(
    database_url: str, organization_id: str
) -> None:
    with ServerProcess(database_url) as a, ServerProcess(database_url) as b:
        # A token from one process is good on the other: they share the signing key.
        token = await client_token(a.url, database_url, organization_id)
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=60, headers=headers) as http_a,
            httpx.AsyncClient(base_url=b.url, timeout=60, headers=headers) as http_b,
        ):
            gql_a, gql_b = GraphQLClient(http_a), GraphQLClient(http_b)
            rma = await create(gql_a)
            start = await feed_position(gql_b)
            client = await SubscriptionClient.open(b.url, token=gql_b.token)
            await client.subscribe(EVENTS, {"after": start})
            await gql_a.data(COMMENT, {"id": rma["id"], "text": "note 0"})
            first = (await client.next())["rmaOrderEvents"]

            for i in range(1, 200):
                await gql_a.data(COMMENT, {"id": rma["id"], "text": f"note {i}"})
            received = [first] + [e["rmaOrderEvents"] for e in await client.collect(199)]

            assert [e["comment"] for e in received] == [f"note {i}" for i in range(200)]
            assert [e["version"] for e in received] == list(range(2, 202))
            assert [int(e["position"]) for e in received] == list(range(int(start) + 1, int(start) + 201))
            with pytest.raises(TimeoutError):
                await client.next(within=0.3)
            await client.close()


async def test_subscribers_get_every_event_when_the_listen_connection_is_killed(
    server: Server, gql: GraphQLClient
) -> None:
    rma = await create(gql)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(EVENTS, {"rmaOrderId": rma["id"]})
    await live(server)
    listener = server.app.state.listener
    texts: list[str] = []

    async def comment(label: str) -> None:
        texts.append(label)
        await gql.data(COMMENT, {"id": rma["id"], "text": label})

    for round_number in range(3):
        for i in range(5):
            await comment(f"before {round_number}.{i}")
        pid = listener.backend_pid
        async with server.engine.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar()
        # Committed while nobody listens: they reach the subscriber from the table.
        for i in range(5):
            await comment(f"outage {round_number}.{i}")
        for _ in range(500):
            if listener.reconnects == round_number + 1:
                break
            await asyncio.sleep(0.01)
        assert listener.backend_pid != pid
    for i in range(5):
        await comment(f"after {i}")
    received = [e["rmaOrderEvents"] for e in await client.collect(len(texts))]

    assert listener.reconnects == 3
    assert [e["comment"] for e in received] == texts
    assert [e["sequence"] for e in received] == list(range(2, len(texts) + 2))
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await client.close()


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {what}")


async def test_a_server_process_listens_only_while_it_has_subscribers(
    server: Server, gql: GraphQLClient
) -> None:
    listener = server.app.state.listener
    listener.linger = 0.05
    rma = await create(gql)
    # Its own commits reach it without LISTEN; nobody here follows anyone else's.
    assert await listener.channels() == []

    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(EVENTS, {"rmaOrderId": rma["id"]})
    await live(server)
    await _until(lambda: listener.listening, "listening")
    assert await listener.channels() == sorted([EVENT_CHANNEL, BULK_PROGRESS_CHANNEL])
    await gql.data(COMMENT, {"id": rma["id"], "text": "heard"})
    assert (await client.next())["rmaOrderEvents"]["comment"] == "heard"

    await client.close()
    await _until(lambda: not listener.listening, "stopped listening")
    assert await listener.channels() == []


async def test_a_process_that_did_not_hear_a_run_follows_it_from_where_it_was_told(
    database_url: str, organization_id: str
) -> None:
    with ServerProcess(database_url) as a, ServerProcess(database_url) as b:
        token = await client_token(a.url, database_url, organization_id)
        async with httpx.AsyncClient(
            base_url=a.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            gql_a = GraphQLClient(http)
            ready = [await act(gql_a, (await create(gql_a))["id"], "submit") for _ in range(2)]
            run_id = str(uuid.uuid4())
            # Finished on one process while the other had no subscriber (and did not listen).
            await bulk(gql_a, action="ACCEPT", ids=[rma["id"] for rma in ready], id=run_id)
            client = await SubscriptionClient.open(b.url, token=token)
            await client.subscribe(PROGRESS, {"id": run_id})
            told = (await client.next())["bulkActionProgress"]
            assert told == finished(run_id, "ACCEPT", ok=2)
            assert (await client.receive())["type"] == "complete"
            await client.close()


async def _shared_count_reaches(database_url: str, token: str, count: int) -> None:
    """Wait until the processes' shared per-minute counts of ``token`` add up to ``count``."""
    key = f"token:60:{jwt.decode(token, options={'verify_signature': False})['jti']}"
    engine = create_async_engine(database_url)
    try:
        for _ in range(100):
            async with engine.connect() as conn:
                total = (
                    await conn.execute(
                        text("SELECT sum(count) FROM rate_limit_counter WHERE key = :key"), {"key": key}
                    )
                ).scalar()
            if total == count:
                return
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"the shared count never reached {count}")


async def test_the_rate_limit_holds_across_server_processes(database_url: str, organization_id: str) -> None:
    limits = {"RMA_RATE_LIMIT_PER_MINUTE": "20", "RMA_RATE_LIMIT_SYNC_SECONDS": "0.2"}
    with ServerProcess(database_url, **limits) as a, ServerProcess(database_url, **limits) as b:
        token = await client_token(a.url, database_url, organization_id)
        headers = {"Authorization": f"Bearer {token}"}
        query = {"query": "{ __typename }"}
        async with (
            httpx.AsyncClient(base_url=a.url, headers=headers) as http_a,
            httpx.AsyncClient(base_url=b.url, headers=headers) as http_b,
        ):
            await in_one_minute_window()
            on_a = [(await http_a.post("/graphql", json=query)).status_code for _ in range(12)]
            await _shared_count_reaches(database_url, token, 12)
            on_b = [(await http_b.post("/graphql", json=query)).status_code for _ in range(12)]

    assert on_a == [200] * 12
    assert on_b == [200] * 8 + [429] * 4
