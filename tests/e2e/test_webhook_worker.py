"""`rma-graphql worker` sends webhooks for servers that leave them to it, and stops cleanly."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette

from rma_graphql.service.organizations import create_organization
from tests.api.test_webhooks import _client, _endpoint, _history, _lifecycle, _wait_for_status
from tests.conftest import DATABASE
from tests.helpers import create
from tests.webhook_receiver import Receiver

COMMAND = str(Path(sys.executable).parent / "rma-graphql")


def _environment(database_url: str, **extra: str) -> dict[str, str]:
    """A worker's environment: the test database, receivers on loopback allowed."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "RMA_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "RMA_LOG_LEVEL": "warning",
        **extra,
    }


class Worker:
    """An `rma-graphql worker` process; ``ready`` once it says it is sending (its signal
    handlers are in place by then). Its log lines are kept."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = {**environment, "RMA_LOG_LEVEL": "info", "RMA_LOG_FORMAT": "json"}
        self.lines: list[str] = []
        self.ready = asyncio.Event()

    async def start(self) -> "Worker":
        self.process = await asyncio.create_subprocess_exec(
            COMMAND, "worker", "--no-migrate", env=self.environment, stderr=subprocess.PIPE
        )
        self._reading = asyncio.create_task(self._read())
        async with asyncio.timeout(60):
            await self.ready.wait()
        return self

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))
            if "sending webhooks" in self.lines[-1]:
                self.ready.set()

    async def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await self.process.wait()
            await self._reading
        return code


async def test_the_worker_delivers_what_the_server_committed(app: Starlette, database_url: str) -> None:
    """The shared app sends nothing (RMA_WEBHOOK_DELIVERY is off for it): the worker does."""
    organization_id = await create_organization(app.state.uow, "Webhooks, worker")
    environment = _environment(database_url)
    async with Receiver() as receiver, _client(app, organization_id) as gql:
        _, secret = await _endpoint(gql, receiver.url)
        worker = await asyncio.create_subprocess_exec(
            COMMAND, "worker", "--no-migrate", env=environment, stderr=subprocess.PIPE
        )
        try:
            rma_id = await _lifecycle(gql)
            events = await _history(gql, rma_id)
            got = await receiver.wait_for(lambda r: len(r) >= len(events), within=60)
        finally:
            worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, errors = await worker.communicate()

    assert worker.returncode == 0, errors.decode()
    assert sorted(r.webhook_id for r in got) == sorted(e["id"] for e in events)
    assert {r.verified(secret)["data"]["rmaOrder"]["id"] for r in got} == {rma_id}


async def test_a_worker_killed_while_sending_loses_nothing(app: Starlette, database_url: str) -> None:
    """Killed (SIGKILL) with deliveries leased and on the wire: once their lease has passed,
    the next worker sends them."""
    organization_id = await create_organization(app.state.uow, "Webhooks, killed worker")
    environment = _environment(database_url, RMA_WEBHOOK_TIMEOUT_SECONDS="2")
    answering = asyncio.Event()

    async def held(_: int) -> int:
        await answering.wait()
        return 200

    async with Receiver(held) as receiver, _client(app, organization_id) as gql:
        _, secret = await _endpoint(gql, receiver.url)
        rma_id = await _lifecycle(gql)
        events = await _history(gql, rma_id)
        first = await asyncio.create_subprocess_exec(COMMAND, "worker", "--no-migrate", env=environment)
        # It has taken the deliveries and is waiting for the receiver's answer.
        await receiver.wait_for(lambda r: len(r) >= 1, within=60)
        first.kill()
        await first.wait()
        answering.set()
        seen = len(receiver.received)
        second = await asyncio.create_subprocess_exec(
            COMMAND, "worker", "--no-migrate", env=environment, stderr=subprocess.PIPE
        )
        try:
            got = await receiver.wait_for(
                lambda r: {x.webhook_id for x in r[seen:]} >= {e["id"] for e in events}, within=60
            )
        finally:
            second.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                await second.communicate()

    assert {r.webhook_id for r in got[seen:]} >= {e["id"] for e in events}
    assert {r.verified(secret)["data"]["rmaOrder"]["id"] for r in got} == {rma_id}


@pytest.mark.skipif(DATABASE != "postgresql", reason="processes share the work on PostgreSQL only")
async def test_two_worker_processes_deliver_each_event_exactly_once(
    app: Starlette, database_url: str
) -> None:
    organization_id = await create_organization(app.state.uow, "Webhooks, two workers")
    environment = _environment(database_url)
    async with Receiver() as receiver, _client(app, organization_id) as gql:
        endpoint_id, _ = await _endpoint(gql, receiver.url)
        workers = [await Worker(environment).start() for _ in range(2)]
        try:
            created = [(await create(gql))["id"] for _ in range(30)]
            await receiver.wait_for(lambda r: len(r) >= len(created), within=60)
            # Once every delivery is recorded as sent, nothing is left to send again.
            await _wait_for_status(gql, endpoint_id, "SUCCEEDED", count=len(created))
        finally:
            codes = [await worker.stop() for worker in workers]

    ids = [r.webhook_id for r in receiver.received]
    assert codes == [0, 0], [worker.lines[-5:] for worker in workers]
    assert len(ids) == len(set(ids)) == len(created)
    assert {r.json["data"]["rmaOrder"]["id"] for r in receiver.received} == set(created)
