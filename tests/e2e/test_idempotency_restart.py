"""A server killed (SIGKILL) right after a keyed mutation committed, and before it answered:
after a restart, the retry answers it once, whichever side of the answer the kill landed."""

import asyncio
import os
import subprocess
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db import tables as t
from tests.conftest import _free_port
from tests.e2e.test_cli import COMMAND, cli
from tests.helpers import CREATE, rma_input

KEY = {"Idempotency-Key": "order-4711-return"}


async def _count(engine: Any, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


class Serving:
    """``rma-graphql serve`` in a process of its own, on either database."""

    def __init__(self, url: str) -> None:
        self.base = f"http://127.0.0.1:{_free_port()}"
        port = self.base.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [COMMAND, "serve", "--port", port, "--log-level", "warning"],
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> "Serving":
        async with httpx.AsyncClient(base_url=self.base, timeout=1) as http:
            for _ in range(600):
                assert self.process.poll() is None, "serve ended early"
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("serve did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(30)


async def test_a_retry_after_a_kill_runs_once(scratch_url: str) -> None:
    cli(scratch_url, "migrate")
    organization = cli(scratch_url, "organizations", "create", "Killed").stdout.strip().splitlines()[-1]
    made = cli(scratch_url, "clients", "create", "--organization", organization, "--name", "shop")
    credentials = dict(line.split("=", 1) for line in made.stdout.strip().splitlines() if "=" in line)
    engine = create_async_engine(scratch_url)
    serving = await Serving(scratch_url).ready()
    try:
        form = {"grant_type": "client_credentials", **credentials}
        async with httpx.AsyncClient(base_url=serving.base) as http:
            token = (await http.post("/oauth2/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", **KEY}
        body = {"query": CREATE, "variables": {"input": rma_input()}}
        async with httpx.AsyncClient(base_url=serving.base, headers=headers, timeout=60) as http:
            first = asyncio.create_task(http.post("/graphql", json=body))
            # The moment the change (and its key) committed, the server dies: the
            # condition is in another process's database, polled.
            while not first.done() and await _count(engine, t.idempotency_key) == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            serving.process.kill()
            serving.stop()
            try:
                answered: dict[str, Any] | None = (await first).json()
            except httpx.TransportError:
                answered = None
        serving = await Serving(scratch_url).ready()
        async with httpx.AsyncClient(base_url=serving.base, headers=headers, timeout=60) as http:
            retried = (await http.post("/graphql", json=body)).json()
            again = await http.post("/graphql", json=body)
        assert "errors" not in retried, retried
        rma = retried["data"]["rmaOrderCreate"]
        assert rma["version"] == 1
        assert again.json() == retried
        assert again.headers["idempotent-replayed"] == "true"
        if answered is not None:
            assert answered == retried
        assert await _count(engine, t.rma_order) == 1
        async with engine.connect() as conn:
            ids = (await conn.execute(select(t.rma_order.c.id))).scalars().all()
        assert ids == [rma["id"]]
    finally:
        serving.stop()
        await engine.dispose()
