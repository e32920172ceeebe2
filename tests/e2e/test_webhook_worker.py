"""`rma-graphql worker` sends webhooks for servers that leave them to it, and stops cleanly."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from starlette.applications import Starlette

from rma_graphql.service.organizations import create_organization
from tests.api.test_webhooks import _client, _endpoint, _history, _lifecycle
from tests.webhook_receiver import Receiver

COMMAND = str(Path(sys.executable).parent / "rma-graphql")


async def test_the_worker_delivers_what_the_server_committed(app: Starlette, database_url: str) -> None:
    """The shared app sends nothing (RMA_WEBHOOK_DELIVERY is off for it): the worker does."""
    organization_id = await create_organization(app.state.uow, "Webhooks, worker")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RMA_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "RMA_LOG_LEVEL": "warning",
    }
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
