"""Benchmark: starts the server on a loopback port with N RMA orders loaded and prints
requests/s and p50/p99 latency for rmaOrder(id) with lines, rmaOrders(first: 50), and the
create → submit → accept sequence; then the bulk rate: one rmaOrdersBulkAction accepting
``--bulk`` submitted RMA orders (one in 13 of them left NEW, so refused), in RMA orders per
second. Requests carry a bearer token of a new API client; rate limits are raised for the run.

    python scripts/bench_api.py [--orders 500] [--requests 2000] [--concurrency 16] [--bulk 500]
    DATABASE_URL=postgresql+asyncpg://… python scripts/bench_api.py

With ``--compare-auth N`` (embedded database only) it runs rmaOrder(id) N times with
authentication on and N times with it off, interleaved, each on a fresh server and
database, and prints both medians and their ratio.
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
BULK = """
mutation($ids: [String!]!) {
  rmaOrdersBulkAction(input: {action: ACCEPT, ids: $ids}) {
    okCount errorCount results { rmaOrder { version } }
  }
}"""
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
) -> float:
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
    rate = requests * per_call / elapsed
    print(f"{name} requests/s: {rate:.0f}")
    print(f"{name} p50 ms: {cuts[49] * 1000:.2f}")
    print(f"{name} p99 ms: {cuts[98] * 1000:.2f}")
    return rate


async def _bulk_rate(client: httpx.AsyncClient, count: int, concurrency: int) -> float:
    """Accept ``count`` RMA orders in one bulk action (every 13th is left NEW: refused)."""
    ids = [(await _call(client, CREATE, {"input": INPUT}))["rmaOrderCreate"]["id"] for _ in range(count)]
    gate = asyncio.Semaphore(concurrency)

    async def submit(rma_id: str) -> None:
        async with gate:
            await _call(client, SUBMIT, {"id": rma_id})

    await asyncio.gather(*(submit(rma_id) for i, rma_id in enumerate(ids) if i % 13 != 12))
    start = time.perf_counter()
    found = (await _call(client, BULK, {"ids": ids}))["rmaOrdersBulkAction"]
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"bulk accept of {count}: {found['okCount']} ok, {found['errorCount']} refused, in {elapsed:.2f} s")
    print(f"bulk accept RMA orders/s: {rate:.0f}")
    return rate


async def _wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not become ready")


def _cli(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "rma_graphql.startup", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def _client_credentials(env: dict[str, str]) -> tuple[str, str]:
    """A new organization and API client for the run (through the command line)."""
    organization_id = _cli(env, "organizations", "create", "Benchmark").strip().splitlines()[-1]
    lines = _cli(env, "clients", "create", "--organization", organization_id, "--name", "bench").splitlines()
    values = dict(line.split("=", 1) for line in lines)
    return values["client_id"], values["client_secret"]


async def _token(client: httpx.AsyncClient, credentials: tuple[str, str] | None) -> None:
    if credentials is None:
        return
    response = await client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials[0],
            "client_secret": credentials[1],
        },
    )
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


async def run(
    args: argparse.Namespace, port: int, env: dict[str, str], credentials: tuple[str, str] | None
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as client:
        await _wait_ready(client)
        await _token(client, credentials)
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

        results = {"rmaOrder(id)": await _measure("rmaOrder(id)", args.requests, args.concurrency, get)}
        if not args.compare_auth:
            results["rmaOrders(first: 50)"] = await _measure(
                "rmaOrders(first: 50)", args.requests // 4, args.concurrency, page
            )
            results["create+submit+accept"] = await _measure(
                "create+submit+accept", args.requests // 10, args.concurrency, sequence
            )
            if args.bulk:
                results["bulk accept"] = await _bulk_rate(client, args.bulk, args.concurrency)
        return results


def one_run(args: argparse.Namespace, authentication: bool = True) -> dict[str, float]:
    """A fresh server (and, on the embedded database, a fresh database) for one measurement."""
    port = _port()
    env = dict(os.environ)
    directory = tempfile.mkdtemp()
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{directory}/bench.db")
    env["RMA_GRAPHIQL"] = "false"
    env["RMA_RATE_LIMIT_PER_MINUTE"] = env["RMA_RATE_LIMIT_PER_SECOND"] = "100000000"
    env["RMA_AUTHENTICATION"] = "true" if authentication else "false"
    credentials = _client_credentials(env) if authentication else None
    database = env["DATABASE_URL"].split("://")[0]
    print(f"database: {database}; orders: {args.orders}; authentication: {authentication}")
    server = subprocess.Popen(
        [sys.executable, "-m", "rma_graphql.startup", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        return asyncio.run(run(args, port, env, credentials))
    finally:
        server.terminate()
        server.wait(10)


def compare_auth(args: argparse.Namespace) -> None:
    on: list[float] = []
    off: list[float] = []
    for _ in range(args.compare_auth):
        on.append(one_run(args, authentication=True)["rmaOrder(id)"])
        off.append(one_run(args, authentication=False)["rmaOrder(id)"])
    median_on, median_off = statistics.median(on), statistics.median(off)
    print(f"rmaOrder(id) requests/s with authentication, runs: {' '.join(f'{v:.0f}' for v in on)}")
    print(f"rmaOrder(id) requests/s without authentication, runs: {' '.join(f'{v:.0f}' for v in off)}")
    print(f"median with authentication: {median_on:.0f} requests/s")
    print(f"median without authentication: {median_off:.0f} requests/s")
    ratio = median_on / median_off
    print(f"with/without: {ratio:.3f} (cost of authentication: {1 - ratio:.1%})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--compare-auth", type=int, default=0, metavar="RUNS")
    parser.add_argument("--bulk", type=int, default=500, help="RMA orders in the bulk accept (0: none)")
    arguments = parser.parse_args()
    if arguments.compare_auth:
        compare_auth(arguments)
    else:
        one_run(arguments)
