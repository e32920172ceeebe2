"""Read benchmark on PostgreSQL: our server beside the best case of our stack (strawberry +
raw asyncpg, scripts/bench_best_case.py) and PostGraphile v4 (scripts/postgraphile/), on the
same database and machine, each driven by wrk.

Seeds N RMA orders × 3 lines into a new organization (other organizations may share the
tables), then, with 1 and with 2 workers, prints req/s, p50 and p99 (medians of the rounds)
of
  (a) rmaOrder(id) with its 3 lines,
  (b) rmaOrders(first: 50) with lines, newest first,
  (b) filtered by processingStatus, and (b) searched by a reference (ours only),
and the ratio of ours to each other server on (a) and (b).

    DATABASE_URL=postgresql+asyncpg://… .venv/bin/python scripts/bench_reads.py
        [--rmas 10000] [--workers 1 2] [--rounds 3] [--seconds 10] [--connections 16]
        [--organization ID (seeded before)] [--servers ours best postgraphile]
"""

import argparse
import asyncio
import os
import statistics
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

import httpx
from bench_servers import (
    Figures,
    Server,
    best_case,
    check,
    client_credentials,
    our_env,
    ours,
    postgraphile,
    profile,
    token,
    wrk,
)
from explain_rma_list import seed, seeded_count, settle
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db.migrate import migrate

GET = "query($id: String) { rmaOrder(id: $id) { id processingStatus lines { sku quantity price } } }"
PAGE = "{ rmaOrders(first: 50) { nodes { id returnReference processingStatus lines { sku } } } }"
FILTERED = (
    "{ rmaOrders(first: 50, filter: {processingStatus: [ANOMALY]}) "
    "{ nodes { id returnReference processingStatus lines { sku } } } }"
)
SEARCHED = (
    "query($search: String) { rmaOrders(first: 50, filter: {search: $search}) "
    "{ nodes { id returnReference processingStatus lines { sku } } } }"
)
PG_GET = (
    "query($id: String!) { rmaOrderById(id: $id) { id processingStatus "
    "rmaOrderLinesByRmaOrderId(orderBy: POSITION_ASC) { nodes { sku quantity price } } } }"
)
PG_PAGE = (
    "query($org: String!) { allRmaOrders(first: 50, orderBy: [CREATED_AT_DESC, ID_DESC], "
    "condition: {organizationId: $org}) { nodes { id returnReference processingStatus "
    "rmaOrderLinesByRmaOrderId(orderBy: POSITION_ASC) { nodes { sku } } } } }"
)

CASE_A = "(a) rmaOrder(id)"
CASE_B = "(b) rmaOrders(first: 50)"
CASE_FILTERED = "(b) filtered by processingStatus"
CASE_SEARCHED = "(b) searched by reference"


def _cases(server: str, organization: str, ids: list[str], rmas: int) -> dict[str, list[dict[str, Any]]]:
    if server == "PostGraphile":
        return {
            CASE_A: [{"query": PG_GET, "variables": {"id": rma_id}} for rma_id in ids],
            CASE_B: [{"query": PG_PAGE, "variables": {"org": organization}}],
        }
    cases = {
        CASE_A: [{"query": GET, "variables": {"id": rma_id}} for rma_id in ids],
        CASE_B: [{"query": PAGE}],
    }
    if server == "ours":
        cases[CASE_FILTERED] = [{"query": FILTERED}]
        step = max(1, rmas // 64)
        cases[CASE_SEARCHED] = [
            {"query": SEARCHED, "variables": {"search": f"RMA-{1000 + n}"}} for n in range(1, rmas, step)
        ]
    return cases


def _measure(
    server: Server, cases: dict[str, list[dict[str, Any]]], headers: dict[str, str], args: Any
) -> dict[str, Figures]:
    results = {}
    for name, bodies in cases.items():
        check(server.base, bodies[0], headers)
        wrk(server.base, bodies, headers, seconds=2, connections=args.connections)
        rounds = [
            wrk(server.base, bodies, headers, seconds=args.seconds, connections=args.connections)
            for _ in range(args.rounds)
        ]
        figures = Figures(
            statistics.median(r.rate for r in rounds),
            statistics.median(r.p50_ms for r in rounds),
            statistics.median(r.p99_ms for r in rounds),
            sum(r.errors for r in rounds),
        )
        if figures.errors:
            raise SystemExit(f"{server.name} {name}: {figures.errors} responses were not 2xx")
        rates = " ".join(f"{r.rate:.0f}" for r in rounds)
        print(
            f"  {server.name:<13} {name:<34} {figures.rate:8.0f} req/s  p50 {figures.p50_ms:7.2f} ms"
            f"  p99 {figures.p99_ms:7.2f} ms   (rounds: {rates})",
            flush=True,
        )
        results[name] = figures
        if args.profile and server.name == "ours":
            # The serving process with 1 worker; the first worker with more.
            pid = server.pids[-1]
            print(
                profile(
                    pid,
                    args.profile,
                    partial(
                        wrk,
                        server.base,
                        bodies,
                        headers,
                        seconds=args.profile + 1,
                        connections=args.connections,
                    ),
                )
            )
    return results


def _plan_share(base: str) -> str:
    """How many of the queries our server answered took a compiled plan (its /metrics)."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    counts = {"compiled": 0.0, "fallback": 0.0}
    queries = 0.0
    batches = {"rma_read_batch_statements_total": 0.0, "rma_read_batch_reads_total": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in batches:
                batches[sample.name] += sample.value
            elif sample.name == "rma_read_plans_total":
                counts[sample.labels["outcome"]] += sample.value
            elif sample.name == "rma_requests_total" and sample.labels["operation"].startswith("query "):
                queries += sample.value
    share = counts["compiled"] / queries if queries else 0.0
    return (
        f"  ours: {counts['compiled']:.0f} of {queries:.0f} queries took a compiled plan ({share:.1%}), "
        f"{counts['fallback']:.0f} fell back; "
        f"{batches['rma_read_batch_reads_total'] / max(batches['rma_read_batch_statements_total'], 1):.1f} "
        "reads per statement (this worker's)"
    )


async def _prepare(url: str, rmas: int, organization: str | None) -> tuple[str, list[str], int]:
    """The organization measured (seeded now unless given), 64 of its RMA orders' ids, and
    how many it holds."""
    await asyncio.to_thread(migrate, url)
    engine = create_async_engine(url)
    if organization is None:
        organization = await seed(engine, rmas)
        print(f"seeded {rmas} RMA orders × 3 lines in organization {organization}")
    await settle(engine)
    async with engine.begin() as conn:
        ids = list(
            (
                await conn.execute(
                    text("SELECT id FROM rma_order WHERE organization_id = :o ORDER BY random() LIMIT 64"),
                    {"o": organization},
                )
            ).scalars()
        )
        count = await seeded_count(conn, organization)
    await engine.dispose()
    return organization, ids, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rmas", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--organization", help="an organization seeded before (skips seeding)")
    parser.add_argument("--servers", nargs="+", default=["ours", "best", "postgraphile"])
    parser.add_argument(
        "--profile", type=int, default=0, metavar="SECONDS", help="print py-spy's profile of ours per case"
    )
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    organization, ids, count = asyncio.run(_prepare(url, args.rmas, args.organization))
    credentials = client_credentials(our_env(url), organization)
    starters: dict[str, Callable[[int], AbstractContextManager[Server]]] = {
        "ours": lambda workers: ours(url, workers),
        "best": lambda workers: best_case(url, organization, workers),
        "postgraphile": lambda workers: postgraphile(url, workers),
    }
    for workers in args.workers:
        print(f"== {workers} worker(s), {args.connections} connections, {args.rounds} × {args.seconds} s")
        results: dict[str, dict[str, Figures]] = {}
        for key in args.servers:
            with starters[key](workers) as server:
                headers = (
                    {"Authorization": f"Bearer {token(server.base, credentials)}"} if key == "ours" else {}
                )
                results[server.name] = _measure(
                    server, _cases(server.name, organization, ids, count), headers, args
                )
                if key == "ours":
                    print(_plan_share(server.base))
        mine = results.get("ours", {})
        for other in ("best case", "PostGraphile"):
            for case in (CASE_A, CASE_B):
                if case in mine and case in results.get(other, {}):
                    ratio = mine[case].rate / results[other][case].rate
                    print(f"  ours / {other:<12} {case:<34} {ratio:5.2f}×")


if __name__ == "__main__":
    main()
