"""The clients storefronts really use, against the real server: the graphql-ws library and
Apollo Client under Node. They refuse what a Python client accepts (binary frames)."""

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rma_graphql.config import Settings
from tests.conftest import GraphQLClient, Server
from tests.helpers import create
from tests.ws import live, subscriptions_left

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (CLIENTS / "node_modules" / "graphql-ws").is_dir(),
    reason="needs Node.js and the pinned clients (make test installs them with npm ci)",
)


class NodeClient:
    """A Node script whose stdout is one JSON object per line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, script: str, *args: str) -> "NodeClient":
        assert NODE is not None
        process = await asyncio.create_subprocess_exec(
            NODE,
            str(CLIENTS / script),
            *args,
            cwd=CLIENTS,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def next_line(self, within: float = 30) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not raw:
            stderr = await self.process.stderr.read() if self.process.stderr else b""
            raise AssertionError(f"the client ended early: {stderr.decode()}")
        line: dict[str, Any] = json.loads(raw)
        self.lines.append(line)
        return line

    async def until(self, event: str) -> dict[str, Any]:
        while True:
            line = await self.next_line()
            assert line["event"] not in ("failed", "timeout", "error"), self.lines
            if line["event"] == event:
                return line

    async def finish(self) -> int:
        code = await asyncio.wait_for(self.process.wait(), 30)
        assert self.process.stdout is not None
        for raw in (await self.process.stdout.read()).splitlines():
            self.lines.append(json.loads(raw))
        return code


async def test_the_graphql_ws_library_subscribes_with_a_token_and_completes_cleanly(
    server: Server, gql: GraphQLClient
) -> None:
    rma = await create(gql)
    url = server.url.replace("http://", "ws://") + "/graphql"
    client = await NodeClient.start("graphql_ws_client.mjs", url, gql.token, rma["id"], "3")
    await client.until("connected")
    await live(server)

    for text in ("one", "two", "three"):
        await gql.data(
            "mutation($id: String!, $t: String!) { rmaOrderCommentAdd(id: $id, text: $t) { version } }",
            {"id": rma["id"], "t": text},
        )
    completed = await client.until("completed")
    code = await client.finish()

    results = [line["result"] for line in client.lines if line["event"] == "next"]
    assert [r["data"]["rmaOrderUpdated"]["version"] for r in results] == [2, 3, 4]
    assert all(r["data"]["rmaOrderUpdated"]["history"][-1]["type"] == "COMMENT_ADDED" for r in results)
    assert all("errors" not in r for r in results)
    assert completed["received"] == 3
    assert code == 0
    closed = [line for line in client.lines if line["event"] == "closed"]
    assert [c["code"] for c in closed] == [1000]
    await subscriptions_left(server)


async def test_the_graphql_ws_library_is_refused_without_a_valid_token(server: Server) -> None:
    url = server.url.replace("http://", "ws://") + "/graphql"
    client = await NodeClient.start("graphql_ws_client.mjs", url, "not-a-token", "x", "1")

    code = await client.finish()

    assert code != 0
    closed = [line for line in client.lines if line["event"] == "closed"]
    assert closed
    assert closed[0]["code"] == 4403
    assert closed[0]["reason"] == "Forbidden"


async def test_apollo_client_queries_mutates_and_subscribes(server: Server, gql: GraphQLClient) -> None:
    rma = await create(gql)
    client = await NodeClient.start("apollo_client.mjs", server.url + "/graphql", gql.token, rma["id"])

    queried = await client.until("query")
    mutated = await client.until("mutation")
    await client.until("connected")
    await live(server)
    await gql.data("mutation($id: String!) { rmaOrderSubmit(id: $id) { version } }", {"id": rma["id"]})
    update = await client.until("next")
    code = await client.finish()

    assert queried["data"]["rmaOrder"] == {
        "__typename": "RmaOrderType",
        "id": rma["id"],
        "version": 1,
        "processingStatus": "NEW",
    }
    assert mutated["data"]["rmaOrderCommentAdd"]["version"] == 2
    assert update["data"]["rmaOrderUpdated"]["version"] == 3
    assert update["data"]["rmaOrderUpdated"]["processingStatus"] == "REQUESTED"
    assert code == 0
    await subscriptions_left(server)


async def test_the_graphql_ws_library_gets_an_operation_beyond_the_limit_refused_and_keeps_the_others(
    settings: Settings, organization_id: str
) -> None:
    limit = 2
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            Server(settings.replace(max_subscriptions_per_connection=limit))
        )
        http = await stack.enter_async_context(await server.client(organization_id))
        gql = GraphQLClient(http)
        rma = await create(gql)
        url = server.url.replace("http://", "ws://") + "/graphql"
        client = await NodeClient.start("graphql_ws_many.mjs", url, gql.token, rma["id"], str(limit + 1), "1")

        refused = await client.until("refused")
        await live(server, limit)
        await gql.data(
            'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "one") { version } }',
            {"id": rma["id"]},
        )
        code = await client.finish()

        assert refused["errors"] == [
            {
                "message": f"This connection already runs {limit} operations, the most one websocket may run at "
                "once (RMA_MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one first, or open another connection.",
                "extensions": {"code": "BAD_REQUEST", "reason": "TOO_MANY_OPERATIONS", "limit": limit},
            }
        ]
        results = [line for line in client.lines if line["event"] == "next"]
        others = {line["subscription"] for line in results}
        assert others == set(range(limit + 1)) - {refused["subscription"]}
        assert [line["result"] for line in results] == [{"data": {"rmaOrderUpdated": {"version": 2}}}] * limit
        assert [line["event"] for line in client.lines].count("refused") == 1
        # One socket throughout: the refusal did not close it; the client closed it at the end.
        assert [line["code"] for line in client.lines if line["event"] == "closed"] == [1000]
        assert code == 0
        await subscriptions_left(server)
