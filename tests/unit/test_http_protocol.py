"""The HTTP protocol the server runs writes each answer's head and body in one write: a
response's view of its connection checked with a transport that records its writes, then
uvicorn serving on a loopback socket (what each response wrote, pipelined requests, a HEAD
request, a stream whose head leaves before its body exists, and a closed connection)."""

import argparse
import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn

from rma_graphql import cli
from rma_graphql.config import Settings
from rma_graphql.http_protocol import HeadWithBody, HttpProtocol
from tests.smtp_server import free_port


class _Recorder(asyncio.Transport):
    """A transport that records what is written to it (and forwards it, when given one)."""

    def __init__(self, writes: list[bytes], inner: asyncio.Transport | None = None) -> None:
        super().__init__()
        self.writes = writes
        self.inner = inner
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        if self.inner is not None:
            self.inner.write(data)

    def close(self) -> None:
        self.closed = True
        if self.inner is not None:
            self.inner.close()

    def is_closing(self) -> bool:
        return self.closed if self.inner is None else self.inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default if self.inner is None else self.inner.get_extra_info(name, default)


async def test_a_head_and_the_body_sent_in_the_same_turn_are_one_write() -> None:
    writes: list[bytes] = []
    view = HeadWithBody(_Recorder(writes), asyncio.get_running_loop())
    view.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert writes == []
    view.write(b"body")
    assert writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    await asyncio.sleep(0)
    assert writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]


async def test_a_head_alone_leaves_when_the_turn_ends_and_later_writes_go_straight_out() -> None:
    writes: list[bytes] = []
    view = HeadWithBody(_Recorder(writes), asyncio.get_running_loop())
    view.write(b"head")
    await asyncio.sleep(0)
    assert writes == [b"head"]
    view.write(b"chunk 1")
    view.write(memoryview(b"chunk 2"))
    assert writes == [b"head", b"chunk 1", b"chunk 2"]


async def test_closing_sends_the_held_head_first_and_a_closed_connection_gets_nothing() -> None:
    writes: list[bytes] = []
    recorder = _Recorder(writes)
    view = HeadWithBody(recorder, asyncio.get_running_loop())
    view.write(b"head")
    view.close()
    assert writes == [b"head"]
    assert recorder.closed

    writes.clear()
    closing = _Recorder(writes)
    view = HeadWithBody(closing, asyncio.get_running_loop())
    view.write(b"head")
    closing.closed = True
    await asyncio.sleep(0)
    assert writes == []
    assert view.is_closing()


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _app(stream_may_end: asyncio.Event) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = [(b"content-type", b"text/plain")]
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await stream_may_end.wait()
            await send({"type": "http.response.body", "body": b"streamed", "more_body": False})
            return
        body = scope["path"].encode()
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@asynccontextmanager
async def _served(app: Callable[..., Awaitable[None]], writes: list[bytes]) -> AsyncIterator[int]:
    """uvicorn serving ``app`` with the server's protocol; every write its responses made
    to their connection is recorded in ``writes``."""

    class Recorded(HttpProtocol):
        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            cycle.transport = _Recorder(writes, cycle.transport)
            super()._start_asgi_task(cycle, app)

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=Recorded, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        yield int(listening.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        listening.close()


async def _read_answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


async def test_served_answers_are_one_write_each_in_order_even_pipelined() -> None:
    writes: list[bytes] = []
    async with _served(_app(asyncio.Event()), writes) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /first HTTP/1.1\r\nhost: test\r\n\r\nGET /second HTTP/1.1\r\nhost: test\r\n\r\n")
        async with asyncio.timeout(10):
            first, second = await _read_answer(reader), await _read_answer(reader)
            writer.write(b"HEAD /third HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            third = await reader.read()
        writer.close()
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert first.endswith(b"\r\n\r\n/first")
    assert second.startswith(b"HTTP/1.1 200 OK")
    assert second.endswith(b"\r\n\r\n/second")
    assert third.startswith(b"HTTP/1.1 200 OK")
    assert third.endswith(b"\r\n\r\n")
    assert b"connection: close" in third.lower()
    # Each answer went to its connection in one write, whole.
    assert writes == [first, second, third]


async def test_a_streams_head_leaves_before_its_body_exists() -> None:
    writes: list[bytes] = []
    may_end = asyncio.Event()
    async with _served(_app(may_end), writes) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n")
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"transfer-encoding: chunked" in head
            may_end.set()
            body = await reader.readuntil(b"0\r\n\r\n")
        writer.close()
    assert body == b"8\r\nstreamed\r\n0\r\n\r\n"
    assert writes == [head, body]


def test_serve_runs_uvicorn_with_this_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: given.update(options, app=app))
    monkeypatch.delenv("RMA_PUBLIC_URL", raising=False)
    arguments = argparse.Namespace(
        host="127.0.0.1", port=free_port(), workers=1, no_migrate=True, log_level="warning"
    )
    settings = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli._serve(arguments, settings) == 0
    assert given["app"] == "rma_graphql.startup:served_app"
    assert given["http"] is HttpProtocol
