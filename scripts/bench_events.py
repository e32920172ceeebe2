"""Benchmark: mutation → event latency across two server processes on one PostgreSQL.

Starts two `rma-graphql serve` processes (A and B) on a scratch database, subscribes to
`rmaOrderEvents` on B over graphql-transport-ws, sends N comment mutations to A (one
after the other, or from several writers) and prints how long each took from sending
the mutation to its event arriving on B: p50, p99 and max.

    python scripts/bench_events.py [--mutations 200] [--writers 1]
    DATABASE_URL=postgresql+asyncpg://… python scripts/bench_events.py
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

# Run as a script, this directory is on the path: share the API benchmark's pieces.
from bench_api import CREATE, INPUT, _call, _client_credentials, _port, _token
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
COMMENT = "mutation($id: String!, $text: String!) { rmaOrderCommentAdd(id: $id, text: $text) { version } }"
FEED = "{ rmaOrderEvents(first: 1000) { pageInfo { endCursor } } }"
EVENTS = "subscription($after: String) { rmaOrderEvents(after: $after) { position comment } }"


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh")], check=True, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


async def _scratch_database(url: str) -> str:
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text("DROP DATABASE IF EXISTS rma_bench WITH (FORCE)"))
        await conn.execute(text("CREATE DATABASE rma_bench"))
    await admin.dispose()
    return make_url(url).set(database="rma_bench").render_as_string(hide_password=False)


def _environment(url: str) -> dict[str, str]:
    # Rate limits raised for the run: the writers send as fast as they can.
    limits = {"RMA_RATE_LIMIT_PER_MINUTE": "100000000", "RMA_RATE_LIMIT_PER_SECOND": "100000000"}
    return {**os.environ, "DATABASE_URL": url, **limits}


def _serve(url: str, port: int, migrate: bool) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "rma-graphql"), "serve", "--port", str(port)]
    command += ["--log-level", "warning"] + ([] if migrate else ["--no-migrate"])
    process = subprocess.Popen(command, env=_environment(url))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server process exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


async def _run(port_a: int, port_b: int, mutations: int, writers: int, credentials: tuple[str, str]) -> None:
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=60) as a,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}", timeout=60) as b,
    ):
        await _token(a, credentials)
        b.headers["Authorization"] = a.headers["Authorization"]
        rma_ids = [(await _call(a, CREATE, {"input": INPUT}))["rmaOrderCreate"]["id"] for _ in range(writers)]
        after = (await _call(b, FEED))["rmaOrderEvents"]["pageInfo"]["endCursor"]
        async with connect(f"ws://127.0.0.1:{port_b}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"Authorization": a.headers["Authorization"]}}
            await ws.send(orjson.dumps(init).decode())
            assert orjson.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                orjson.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": EVENTS, "variables": {"after": after}},
                    }
                ).decode()
            )
            arrived: dict[str, float] = {}
            sent: dict[str, float] = {}

            async def receive(expected: int) -> None:
                while len(arrived) < expected:
                    message = orjson.loads(await ws.recv())
                    assert message["type"] == "next", message
                    arrived[message["payload"]["data"]["rmaOrderEvents"]["comment"]] = time.perf_counter()

            async def write(writer: int, count: int, label: str) -> None:
                for i in range(count):
                    name = f"{label} {writer}.{i}"
                    sent[name] = time.perf_counter()
                    await _call(a, COMMENT, {"id": rma_ids[writer], "text": name})

            warm_up = 20 * writers
            reader = asyncio.create_task(receive(warm_up))
            await asyncio.gather(*(write(w, 20, "warm-up") for w in range(writers)))
            await reader
            arrived.clear()
            sent.clear()
            per_writer = mutations // writers
            reader = asyncio.create_task(receive(per_writer * writers))
            started = time.perf_counter()
            await asyncio.gather(*(write(w, per_writer, "measured") for w in range(writers)))
            await asyncio.wait_for(reader, 60)
            elapsed = time.perf_counter() - started

    latencies = sorted((arrived[name] - sent[name]) * 1000 for name in sent)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{len(latencies)} events received on process B of {len(sent)} mutations sent to process A "
        f"({writers} writer(s), {len(latencies) / elapsed:.0f} events/s)"
    )
    print(
        f"mutation → event latency: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mutations", type=int, default=200)
    parser.add_argument("--writers", type=int, default=1)
    args = parser.parse_args()
    url = asyncio.run(_scratch_database(_postgres_url()))
    port_a, port_b = _port(), _port()
    server_a = _serve(url, port_a, migrate=True)
    server_b = _serve(url, port_b, migrate=False)
    try:
        credentials = _client_credentials(_environment(url))
        asyncio.run(_run(port_a, port_b, args.mutations, args.writers, credentials))
    finally:
        for process in (server_a, server_b):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
