"""What a transition costs the server's CPU, without HTTP, wrk or a second process sharing
the machine: the app called in-process through ASGI (its lifespan started, PostgreSQL
real), ``rmaOrderSubmit`` of seeded RMA orders 16 at a time (``--concurrency``), and the
process's CPU time per transition (the notification and webhook senders included: they run
in the same process), with the garbage collections made meanwhile.
Less spread than a wrk run on a shared machine, so a change's effect on the server's own
work shows. Then, with ``--derive``, the notifications those transitions made are derived
in one ``derive()`` alone (the senders off during the transitions), and its CPU per delivery
printed. With ``--operation create``, the requests are ``rmaOrderCreate`` of a one-line return
instead (the same input as bench_api.py's), and the CPU is per create. ``--concurrency 8``
is what each of two workers sees of 16 connections: its statements carry half as many
changes. ``--concurrency 1 --pause 10`` sends one request at a time, each 10 ms after the
answer before it: the same work as ``--concurrency 1``, with the process idle in between.

    DATABASE_URL=postgresql+asyncpg://… .venv/bin/python scripts/bench_cpu.py
        [--transitions 4000] [--operation submit|create] [--senders off] [--derive]
        [--concurrency 16] [--pause MS]

A run with ``--senders off`` leaves its transitions' notifications underived: the next run
on the same database with the senders on derives them too (each run seeds an organization
of its own, and the senders catch up on every organization), so compare the two settings on
databases of their own.
"""

import argparse
import asyncio
import gc
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvloop
from bench_api import CREATE, INPUT
from bench_servers import client_credentials, our_env
from bench_writes import SUBMIT, seed_in_new

from rma_graphql.app import create_app
from rma_graphql.config import Settings

WARM_UP = 500


@dataclass
class Collections:
    """The garbage collector's collections while counting: how many, their time, the longest."""

    counting: bool = False
    count: int = 0
    seconds: float = 0.0
    longest: float = 0.0
    _started: float = field(default=0.0, repr=False)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.counting:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            took = time.perf_counter() - self._started
            self.count += 1
            self.seconds += took
            self.longest = max(self.longest, took)


def _scope(body: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """One POST /graphql through the app (an answer with a GraphQL error fails the run)."""
    given = False
    answer: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the request never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    await app(_scope(body, headers), receive, send)
    found = b"".join(answer)
    if b'"errors"' in found:
        raise SystemExit(f"an answer had errors: {found[:500]!r}")


async def _run_all(
    app: Any, bodies: Iterator[bytes], headers: list[tuple[bytes, bytes]], concurrency: int, pause: float = 0
) -> None:
    async def caller() -> None:
        for body in bodies:
            await _call(app, body, headers)
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(caller() for _ in range(concurrency)))


async def _token(app: Any, credentials: tuple[str, str]) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": credentials[0],
            "client_secret": credentials[1],
        }
        answer = await client.post("/oauth2/token", data=form)
        answer.raise_for_status()
        return str(answer.json()["access_token"])


async def measure(args: argparse.Namespace) -> None:
    url = os.environ["DATABASE_URL"]
    creates = args.operation == "create"
    organizations, ids = await seed_in_new(url, 1 if creates else args.transitions + WARM_UP, 1)
    env = our_env(url)
    credentials = client_credentials(env, organizations[0])
    if args.senders == "off":
        env.update(RMA_NOTIFICATION_DELIVERY="false", RMA_WEBHOOK_DELIVERY="false")
    os.environ.update({key: value for key, value in env.items() if key.startswith("RMA_")})
    app = create_app(Settings(database_url=url))
    if creates:
        bodies = [orjson.dumps({"query": CREATE, "variables": {"input": INPUT}})] * (
            args.transitions + WARM_UP
        )
    else:
        bodies = [orjson.dumps({"query": SUBMIT, "variables": {"id": rma_id}}) for rma_id, _ in ids]
    async with app.router.lifespan_context(app):
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {await _token(app, credentials)}".encode()),
        ]
        await _run_all(app, iter(bodies[:WARM_UP]), headers, args.concurrency)
        collections = Collections(counting=True)
        gc.callbacks.append(collections)
        started, cpu = time.perf_counter(), time.process_time()
        await _run_all(app, iter(bodies[WARM_UP:]), headers, args.concurrency, args.pause / 1000)
        elapsed = time.perf_counter() - started
        # What the senders still owe for these transitions is part of their cost.
        await asyncio.sleep(1.5)
        used = time.process_time() - cpu
        collections.counting = False
        count = len(bodies) - WARM_UP
        paused = f", {args.pause:g} ms apart" if args.pause else ""
        print(
            f"{count} {args.operation}s, {args.concurrency} at a time{paused}, senders {args.senders}: "
            f"{used / count * 1e6:.0f} µs of CPU each, {count / elapsed:.0f}/s"
        )
        print(
            f"garbage collections: {collections.count}, {collections.seconds / count * 1e6:.1f} µs "
            f"per transition, the longest {collections.longest * 1000:.1f} ms"
        )
        if args.derive:
            cpu = time.process_time()
            made = await app.state.notifications.derive()
            used = time.process_time() - cpu
            print(f"derive(): {made} deliveries, {used / max(made, 1) * 1e6:.0f} µs of CPU each")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transitions", type=int, default=4000)
    parser.add_argument(
        "--operation", choices=("submit", "create"), default="submit", help="the mutation each request makes"
    )
    parser.add_argument("--senders", choices=("on", "off"), default="on")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="requests at a time (a server's worker sees its share of the clients' connections)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0,
        metavar="MS",
        help="each caller waits this long after each answer (the process idles between requests)",
    )
    parser.add_argument("--derive", action="store_true", help="derive the notifications afterwards, alone")
    args = parser.parse_args()
    if args.derive:
        args.senders = "off"
    uvloop.run(measure(args))


if __name__ == "__main__":
    main()
