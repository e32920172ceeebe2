"""The webhook receivers of scripts/bench_webhooks.py, served by uvicorn: ``POST /fast``
answers at once and keeps, per delivery, the seconds from its event to its arrival;
``POST /slow`` never answers in time; ``GET /stats`` gives what ``/fast`` kept and forgets it."""

import asyncio
import time
from datetime import datetime
from typing import Any

import orjson

_delays: list[tuple[str, float, float]] = []


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stats":
        kept = list(_delays)
        _delays.clear()
        await _answer(send, 200, orjson.dumps(kept))
        return
    body = await _body(receive)
    if scope["path"] == "/slow":
        await asyncio.sleep(3600)
        return
    arrived = time.time()
    event = orjson.loads(body)["data"]["event"]
    occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
    _delays.append((event["id"], occurred, arrived - occurred))
    await _answer(send, 204)
