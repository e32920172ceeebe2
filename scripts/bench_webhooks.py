"""Webhook benchmark on PostgreSQL: how fast our server delivers to a fast local receiver,
and how long an event waits from its commit to its delivery, with 1 and 2 server workers.

For each worker count, on a new organization with RMA orders seeded in NEW:
  - the delay: single transitions (``rmaOrderSubmit``, one event each) paced at half the
    rate the server takes them at, each event delivered to a fast receiver: deliveries/s
    and the p50/p99 of (arrival − the event's time);
  - the rate: a backlog of events made while the endpoint is disabled, then delivered once
    it is enabled: deliveries/s until the receiver has them all;
  - a dead receiver beside: a second endpoint that never answers (each attempt waits for the
    timeout); the delay to the fast receiver measured again.

    DATABASE_URL=postgresql+asyncpg://… .venv/bin/python scripts/bench_webhooks.py
        [--workers 1 2] [--seconds 10] [--connections 16] [--rmas 40000]
"""

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import httpx
from bench_servers import SCRIPTS, client_credentials, free_port, our_env, ours, serving, token
from bench_writes import paced, seed_in_new, transitions

ENDPOINT = (
    "mutation($url: String!) { webhookEndpointCreate(input: {url: $url, eventTypes: [SUBMITTED]}) "
    "{ endpoint { id } } }"
)
ENABLE = (
    "mutation($id: String!, $on: Boolean!) { webhookEndpointUpdate(id: $id, input: {enabled: $on}) { id } }"
)


def _graphql(base: str, authorization: str, query: str, variables: dict[str, Any]) -> Any:
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": authorization},
        timeout=30,
    ).json()
    if answer.get("errors"):
        raise SystemExit(f"{query}: {answer['errors']}")
    return answer["data"]


def _stats(receiver: str) -> list[tuple[str, float, float]]:
    return [tuple(item) for item in httpx.get(f"{receiver}/stats", timeout=30).json()]  # type: ignore[misc]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def _delays(receiver: str, settle: float = 3.0) -> tuple[int, float, float]:
    """Deliveries since the last look (once they stop coming), and their p50/p99 delay in ms."""
    time.sleep(settle)
    kept = _stats(receiver)
    delays = [delay * 1000 for _, _, delay in kept]
    return len(kept), _percentile(delays, 0.5), _percentile(delays, 0.99)


def _drain(receiver: str, expected: int, limit: float = 300) -> tuple[int, float]:
    """Deliveries of a backlog and the seconds until the last arrived."""
    started = time.monotonic()
    got: list[tuple[str, float, float]] = []
    last = started
    while len(got) < expected and time.monotonic() - started < limit:
        time.sleep(0.2)
        more = _stats(receiver)
        if more:
            last = time.monotonic()
        got += more
    return len(got), last - started


def run(url: str, workers: int, args: argparse.Namespace, receiver: str) -> None:
    organizations, ids = asyncio.run(seed_in_new(url, args.rmas, 1))
    credentials = client_credentials(our_env(url), organizations[0])
    with ours(url, workers) as server:
        authorization = f"Bearer {token(server.base, credentials)}"
        tokens = [authorization]
        endpoint = _graphql(server.base, authorization, ENDPOINT, {"url": f"{receiver}/fast"})
        endpoint_id = endpoint["webhookEndpointCreate"]["endpoint"]["id"]
        full = transitions(server.base, tokens, ids[:20_000], seconds=3, connections=args.connections)
        _delays(receiver)
        used = round(full.rate * 3) + 1000
        half = paced(server.base, tokens, ids[used:], full.rate / 2, args)
        count, p50, p99 = _delays(receiver)
        print(
            f"  paced writes {half.rate:6.0f}/s (half of {full.rate:.0f}/s): {count} deliveries,"
            f" {count / (args.seconds + 3):6.0f}/s, delay p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
        )
        used += round(half.rate * (args.seconds + 3)) + 1000
        _graphql(server.base, authorization, ENABLE, {"id": endpoint_id, "on": False})
        backlog = transitions(
            server.base, tokens, ids[used:], seconds=args.seconds, connections=args.connections
        )
        made = round(backlog.rate * args.seconds)
        used += made + 1000
        _graphql(server.base, authorization, ENABLE, {"id": endpoint_id, "on": True})
        delivered, seconds = _drain(receiver, made)
        print(
            f"  backlog of ~{made} events: {delivered} delivered in {seconds:.1f} s,"
            f" {delivered / seconds:6.0f}/s"
        )
        _graphql(server.base, authorization, ENDPOINT, {"url": f"{receiver}/slow"})
        half = paced(server.base, tokens, ids[used:], full.rate / 2, args)
        count, p50, p99 = _delays(receiver)
        print(
            f"  with a dead receiver beside: {count} deliveries to the fast one,"
            f" delay p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rmas", type=int, default=40_000)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    os.environ["RMA_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "1"
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(SCRIPTS), "bench_webhook_receiver:app"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    with serving("receiver", command, dict(os.environ), ready=f"http://127.0.0.1:{port}/stats"):
        for workers in args.workers:
            print(f"== {workers} worker(s), {args.connections} connections, {args.seconds} s")
            run(url, workers, args, f"http://127.0.0.1:{port}")


if __name__ == "__main__":
    main()
