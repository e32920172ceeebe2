"""Benchmark: starts the server on a loopback port with N RMA orders loaded and prints
requests/s and p50/p99 latency for rmaOrder(id) with lines, rmaOrders(first: 50), and the
create → submit → accept sequence.

    python scripts/bench_api.py [--orders 500] [--requests 2000] [--concurrency 16]
    DATABASE_URL=postgresql+asyncpg://… python scripts/bench_api.py
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

CREATE = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"
GET = "query($id: String) { rmaOrder(id: $id) { id processingStatus lines { sku quantity price } } }"
LIST = "{ rmaOrders(first: 50) { nodes { id returnReference processingStatus lines { sku } } } }"
SUBMIT = "mutation($id: String!) { rmaOrderSubmit(id: $id) { version } }"
ACCEPT = "mutation($id: String!) { rmaOrderAccept(id: $id) { version } }"
INPUT = {
    "expectedResolution": "REFUND",
    "lines": [{"sku": "SKU-1", "quantity": 1, "reason": "DEFECTIVE", "price": 10}],
    "sender": {"fullname": "Bench"},
    "deliveryContact": {"fullname": "Warehouse"},
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _call(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


async def _measure(
    name: str, requests: int, concurrency: int, one: Callable[[int], Awaitable[None]], per_call: int = 1
) -> None:
    latencies: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{name} requests/s: {requests * per_call / elapsed:.0f}")
    print(f"{name} p50 ms: {cuts[49] * 1000:.2f}")
    print(f"{name} p99 ms: {cuts[98] * 1000:.2f}")


async def run(args: argparse.Namespace, port: int, env: dict[str, str]) -> None:
    if True:
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            print(f"database: {env['DATABASE_URL'].split('://')[0]}; orders: {args.orders}")
            ids = [
                (await _call(client, CREATE, {"input": INPUT}))["rmaOrderCreate"]["id"]
                for _ in range(args.orders)
            ]

            async def get(i: int) -> None:
                await _call(client, GET, {"id": ids[i % len(ids)]})

            async def page(i: int) -> None:
                await _call(client, LIST)

            async def sequence(i: int) -> None:
                rma_id = (await _call(client, CREATE, {"input": INPUT}))["rmaOrderCreate"]["id"]
                await _call(client, SUBMIT, {"id": rma_id})
                await _call(client, ACCEPT, {"id": rma_id})

            await _measure("rmaOrder(id)", args.requests, args.concurrency, get)
            await _measure("rmaOrders(first: 50)", args.requests // 4, args.concurrency, page)
            await _measure("create+submit+accept", args.requests // 10, args.concurrency, sequence)


def main(args: argparse.Namespace) -> None:
    port = _port()
    env = dict(os.environ)
    directory = tempfile.mkdtemp()
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{directory}/bench.db")
    env["RMA_GRAPHIQL"] = "false"
    server = subprocess.Popen(
        [sys.executable, "-m", "rma_graphql.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        asyncio.run(run(args, port, env))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    main(parser.parse_args())
