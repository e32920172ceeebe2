"""A webhook receiver for tests: a real HTTP server (uvicorn) on a loopback port, in the
test's event loop, that keeps every request it gets and answers as the test says."""

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    # The URL's query string: endpoints told apart by it.
    query: str = ""

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The body, once its signature checks out with ``secret`` (standardwebhooks' own check)."""
        return Webhook(secret).verify(self.body, self.headers)


# Answers the n-th request (from 0) with a status; may wait first.
Answer = Callable[[int], Awaitable[int]]


async def always_ok(_: int) -> int:
    return 200


@dataclass
class Receiver:
    answer: Answer = always_ok
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        async with self._changed:
            index = len(self.received)
            self.received.append(Received(dict(request.headers), body, request.url.query))
            self._changed.notify_all()
        return Response(f"answer {index}", status_code=await self.answer(index))

    async def wait_for(self, done: Callable[[list[Received]], bool], within: float = 30) -> list[Received]:
        """The requests received, once ``done`` says they are all there."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: done(self.received))
        return list(self.received)

    async def __aenter__(self) -> "Receiver":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        # A request still waiting for its answer does not hold the test up.
        self._server.force_exit = True
        await self._task
