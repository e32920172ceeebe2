"""``rma-graphql serve`` on PostgreSQL sends webhooks and notifications from a process of its
own, at a lower CPU priority than the servers (rma_graphql/sender_process.py)."""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.service.organizations import create_organization
from rma_graphql.service.unit_of_work import UnitOfWork
from tests.conftest import DATABASE, GraphQLClient, client_token
from tests.e2e.test_fanout import ServerProcess
from tests.helpers import act, create

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="the sender process serves PostgreSQL")


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def _command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _nice(pid: int) -> int:
    # /proc/PID/stat: the fields after the command's closing parenthesis start at the 3rd.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _senders(server: ServerProcess) -> list[int]:
    return [pid for pid in _children(server.process.pid) if "worker" in _command_line(pid)]


def _servers(server: ServerProcess) -> list[int]:
    return [pid for pid in _children(server.process.pid) if "--multiprocessing-fork" in _command_line(pid)]


def _until(found: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not found():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def _one_sender(server: ServerProcess, other_than: int | None = None) -> int:
    """The server's one sender process (not other_than), once it runs at the senders' lower
    priority (set by the server as soon as the process exists: a look may come between).
    Its children are read once per look: two looks may straddle a killed sender's end and see
    it in the first, nothing in the second."""
    found: list[int] = []

    def one() -> bool:
        found[:] = _senders(server)
        return len(found) == 1 and found[0] != other_than

    _until(one, "one sender process")
    _until(lambda: _nice(found[0]) == 10, "the sender process at nice 10", seconds=10)
    return found[0]


async def _organization(database_url: str) -> str:
    """A new organization, made as the command line makes one (no server's senders involved)."""
    engine = create_engine(Settings(database_url=database_url))
    try:
        return await create_organization(UnitOfWork(engine), f"Senders {uuid.uuid4().hex[:12]}")
    finally:
        await engine.dispose()


async def _deliveries(database_url: str, rma_id: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text("SELECT count(*) FROM notification_delivery WHERE rma_order_id = :id")
            return int((await conn.execute(query, {"id": rma_id})).scalar_one())
    finally:
        await engine.dispose()


async def _submitted_and_mailed(server: ServerProcess, database_url: str, token: str) -> None:
    """An RMA order submitted through the server gets its submit's mail, derived by a sender."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers) as http:
        gql = GraphQLClient(http)
        rma = await create(gql)
        await act(gql, rma["id"], "submit")
    deadline = time.monotonic() + 30
    while await _deliveries(database_url, rma["id"]) == 0:
        assert time.monotonic() < deadline, "no mail derived for the submit within 30 s"
        await asyncio.sleep(0.05)


async def test_serve_sends_from_one_process_of_its_own_at_a_lower_priority(database_url: str) -> None:
    organization_id = await _organization(database_url)
    with ServerProcess(database_url, workers=2, RMA_SENDER_PROCESS="true") as server:
        sender = _one_sender(server)
        assert _command_line(sender)[-3:-1] == ["--parent", str(server.process.pid)]
        servers = _servers(server)
        assert len(servers) == 2
        for pid in servers:
            assert _nice(pid) == 0
            environment = _environment(pid)
            assert environment["RMA_NOTIFICATION_DELIVERY"] == "false"
            assert environment["RMA_WEBHOOK_DELIVERY"] == "false"
        # The sender's metrics are summed with the servers'.
        assert _environment(sender)["PROMETHEUS_MULTIPROC_DIR"] == environment["PROMETHEUS_MULTIPROC_DIR"]
        token = await client_token(server.url, database_url, organization_id)
        await _submitted_and_mailed(server, database_url, token)

        # A sender process that dies is replaced, and mails go on.
        os.kill(sender, signal.SIGKILL)
        sender = _one_sender(server, other_than=sender)
        await _submitted_and_mailed(server, database_url, token)
    # Stopped with the server.
    _until(lambda: not Path(f"/proc/{sender}").exists(), "the sender process ended")


def test_a_sender_left_alone_ends(database_url: str) -> None:
    server = ServerProcess(database_url, workers=1, RMA_SENDER_PROCESS="true")
    with server:
        sender = _one_sender(server)
        # The server killed outright: nothing stops the sender but its own watch.
        for pid in [server.process.pid, *_servers(server)]:
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
        _until(
            lambda: _command_line(sender) == [] or "worker" not in _command_line(sender), "the sender ended"
        )


async def test_by_default_the_servers_send(database_url: str) -> None:
    organization_id = await _organization(database_url)
    with ServerProcess(database_url, workers=2) as server:
        servers = _servers(server)
        assert len(servers) == 2
        assert _senders(server) == []
        for pid in servers:
            assert "RMA_NOTIFICATION_DELIVERY" not in _environment(pid)
        token = await client_token(server.url, database_url, organization_id)
        await _submitted_and_mailed(server, database_url, token)
