"""Write benchmark on PostgreSQL: single transitions and the create → submit → accept
sequence through our server with 1 and 2 workers, beside pgbench's write TPS on the same
cluster.

  - single transitions: ``rmaOrderSubmit`` of RMA orders seeded in NEW, each submitted once,
    driven by wrk as fast as the server answers (req/s, p50, p99, and the CPU a transition
    cost the servers and PostgreSQL when it runs on this machine), then paced by wrk at half
    that rate (p50, p99 at a load the server is not saturated by), then sent at half that rate
    on schedule by scripts/open_loop.mjs (Node), each latency counted from the time the request
    was due: wrk's paced connections each wait for their answer, so a stall delays their next
    requests instead of showing in them (the open loop's first second is left out of its
    figures: the client's own warm-up), and in how many of its quarter-seconds its slowest
    1 % were due (a few stalls, or queueing spread over the run);
  - the sequence: create, submit, accept one RMA order after the other (each step needs the
    previous answer), 16 at a time from a Python client (sequences/s, p50, p99 per sequence);
  - pgbench: its built-in TPC-B-like write transaction, 16 clients, on a scratch database.

Every answer is checked: a GraphQL error in a response fails the run.

    DATABASE_URL=postgresql+asyncpg://… .venv/bin/python scripts/bench_writes.py
        [--workers 1 2] [--seconds 10] [--connections 16] [--sequences 600]
        [--paced RATE …]   (only single transitions at those rates: versions compared at one
                            rate, or what a transition costs as the load grows)
"""

import argparse
import asyncio
import math
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import httpx
import orjson
from bench_api import ACCEPT, CREATE, INPUT
from bench_servers import (
    SCRIPTS,
    Figures,
    Server,
    client_credentials,
    drop_database,
    fresh_database,
    our_env,
    ours,
    percentiles,
    plain_dsn,
    profile,
    run_wrk,
    token,
)
from explain_rma_list import seed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db.migrate import migrate

SUBMIT = "mutation($id: String!) { rmaOrderSubmit(id: $id) { id version processingStatus } }"

# Each wrk thread takes its own share of the ids (every RMA order is submitted once); a
# response with GraphQL errors is counted, and the counts are summed at the end. With a
# delay, each connection waits that long on average (uniformly drawn, so that connections do
# not fire together) between an answer and its next request: a paced load.
WRK_SCRIPT = """
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local query = [==[%(query)s]==]
local delay_ms = %(delay_ms)s
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads)
  thread:set("stride", %(threads)s)
  table.insert(threads, thread)
end

function init(args)
  failures = 0
  used = 0
end

function request()
  local index = offset + 1 + used * stride
  used = used + 1
  if index > #ids then
    wrk.thread:stop()
  end
  local pick = ids[((index - 1) %% #ids) + 1]
  local body = '{"query": "' .. query .. '", "variables": {"id": "' .. pick[1] .. '"}}'
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = tokens[pick[2]]}
  return wrk.format("POST", "/graphql", headers, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failures = failures + 1
  end
end

if delay_ms > 0 then
  -- Uniform around the mean: connections that waited alike would fire in bursts.
  function delay()
    return math.random(0, 2 * delay_ms)
  end
end

function done(summary, latency, requests)
  local total, reached = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("failures")
    reached = math.max(reached, thread:get("offset") + thread:get("used") * thread:get("stride"))
  end
  io.write(string.format("failures: %%d\\n", total))
  io.write(string.format("reached: %%d\\n", reached))
end
"""


@dataclass
class Transitions(Figures):
    # How far into ``ids`` any wrk thread went: the ids the next run must start after.
    reached: int = 0
    # Open loop: where in the run its slowest 1 % were due (``slow_spread``).
    spread: str = ""


def transitions(
    base: str,
    tokens: list[str],
    ids: list[tuple[str, int]],
    *,
    seconds: int,
    connections: int,
    delay: int = 0,
) -> Transitions:
    """``rmaOrderSubmit`` of ``ids`` with wrk: as fast as answered, or each connection
    waiting ``delay`` ms between an answer and its next request."""
    threads = 2
    script = WRK_SCRIPT % {
        "ids": ", ".join(f'{{"{rma_id}", {which + 1}}}' for rma_id, which in ids),
        "tokens": ", ".join(f'"{authorization}"' for authorization in tokens),
        "query": SUBMIT.replace('"', '\\"'),
        "delay_ms": delay,
        "threads": threads,
    }
    output = run_wrk(script, base, seconds=seconds, connections=connections, threads=threads)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    elapsed = re.search(r"requests in ([\d.]+)(m?s)", output)
    assert elapsed is not None
    duration = float(elapsed.group(1)) / (1000 if elapsed.group(2) == "ms" else 1)
    failures = int(re.search(r"failures: (\d+)", output).group(1))  # type: ignore[union-attr]
    reached = int(re.search(r"reached: (\d+)", output).group(1))  # type: ignore[union-attr]
    p50, p99 = percentiles(output)
    return Transitions(requests / duration, p50, p99, failures, reached)


def paced(base: str, tokens: list[str], ids: list[tuple[str, int]], rate: float, args: Any) -> Transitions:
    """Transitions at about ``rate``/s: each connection waits between an answer and its next
    request; a short first run measures the latency to subtract from that wait."""
    connections = args.connections
    interval = connections * 1000 / rate
    probe = transitions(base, tokens, ids, seconds=3, connections=connections, delay=round(interval))
    latency = connections * 1000 / probe.rate - interval
    delay = max(0, round(interval - latency))
    rest = ids[probe.reached :]
    run = transitions(base, tokens, rest, seconds=args.seconds, connections=connections, delay=delay)
    enough(run, rest)
    return replace(run, reached=probe.reached + run.reached)


def enough(run: Transitions, ids: list[tuple[str, int]]) -> None:
    """Fail a run whose wrk threads ran out of RMA orders before its time was up: its rate
    would count the requests of a shorter run over the whole duration."""
    if run.reached > len(ids):
        raise SystemExit(f"the {len(ids)} RMA orders seeded for a run ran out before its end: raise --rmas")


# RMA orders seeded per second of a run (and for one second more): a saturated run at up to
# 2,500 transitions per second, then the paced and open-loop runs at half its rate, with 4 s
# more between them (the paced run's probe, the open loop's warm-up) and 500 to warm up: at
# most 5,000 a second and 5,500 more.
RMAS_PER_SECOND = 6_000

# Seconds of the open-loop run sent first and left out of its figures (the client's warm-up).
OPEN_LOOP_WARMUP = 1


def open_loop(
    base: str, tokens: list[str], ids: list[tuple[str, int]], rate: float, seconds: int, connections: int
) -> Transitions:
    """Transitions at ``rate``/s sent on schedule whatever the answers (scripts/open_loop.mjs),
    each one's latency counted from the time it was due: the tail a closed loop leaves out.
    The first OPEN_LOOP_WARMUP seconds are sent and left out of the figures."""
    skipped = round(rate * OPEN_LOOP_WARMUP)
    needed = skipped + round(rate * seconds)
    if needed > len(ids):
        raise SystemExit(f"the open-loop run needs {needed} RMA orders, {len(ids)} are left: raise --rmas")
    config = {
        "base": base,
        "rate": rate,
        "connections": connections,
        "query": SUBMIT,
        "tokens": tokens,
        "ids": ids[:needed],
    }
    with tempfile.NamedTemporaryFile("wb", suffix=".json") as file:
        file.write(orjson.dumps(config))
        file.flush()
        output = subprocess.run(
            ["node", str(SCRIPTS / "open_loop.mjs"), file.name], check=True, capture_output=True
        ).stdout
    run = orjson.loads(output)
    counted = run["latencies_ms"][skipped:]
    cuts = statistics.quantiles(counted, n=100)
    span = run["elapsed_ms"] / 1000 - OPEN_LOOP_WARMUP
    # The wall-clock time the first counted request was due, to find a stall in other logs.
    counted_from = run["started_at_ms"] / 1000 + OPEN_LOOP_WARMUP
    spread = slow_spread(counted, rate, cuts[98], counted_from)
    return Transitions(len(counted) / span, cuts[49], cuts[98], run["errors"], needed, spread)


# The slices of an open-loop run its slowest requests are counted in.
SLICE_SECONDS = 0.25


def slow_spread(latencies_ms: list[float], rate: float, p99_ms: float, started_at: float) -> str:
    """In how many of the run's quarter-seconds (by the time each request was due) the
    requests slower than p99 fell, and the most in one: a few stalls hold them in a few
    slices, queueing on a busy machine spreads them over many. Each of those slices is named
    by its time into the run and its UTC time of day (``started_at``, seconds since the epoch),
    to be found in PostgreSQL's log or a sampler's."""
    per_slice = rate * SLICE_SECONDS
    slices = Counter(int(index / per_slice) for index, ms in enumerate(latencies_ms) if ms > p99_ms)
    total = math.ceil(len(latencies_ms) / per_slice)
    worst = ", ".join(
        f"{count} at {index * SLICE_SECONDS:g} s ({_clock(started_at + index * SLICE_SECONDS)})"
        for index, count in slices.most_common(3)
    )
    return (
        f"slowest 1 % ({sum(slices.values())}) due in {len(slices)} of {total} quarter-seconds;"
        f" the most: {worst or 'none'}"
    )


def _clock(seconds: float) -> str:
    """``seconds`` since the epoch as a UTC time of day to the millisecond, as PostgreSQL logs."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S.%f")[:-3]


def measured_open_loop(
    server: Server, tokens: list[str], ids: list[tuple[str, int]], rate: float, args: Any
) -> tuple[Transitions, str]:
    """The open-loop run at ``rate``, with the CPU a transition cost meanwhile (at half the
    saturated rate, a transition shares fewer of its statements and round trips than saturated)."""
    run = partial(open_loop, server.base, tokens, ids, rate, args.seconds, args.connections)
    return with_cpu(server.pids, run, 0)


def at_rates(server: Server, tokens: list[str], ids: list[tuple[str, int]], args: Any) -> None:
    """``--paced``: single transitions at each rate, paced by wrk, then on schedule with the
    CPU and context switches a transition cost meanwhile."""
    for rate in args.paced:
        only = paced(server.base, tokens, ids, rate, args)
        ids = ids[only.reached :]
        opened, opened_cpu = measured_open_loop(server, tokens, ids, rate, args)
        ids = ids[opened.reached :]
        for name, run in (("", only), (", open loop", opened)):
            print(
                f"  single transitions at {rate:.0f}/s{name} {run.rate:8.0f} req/s"
                f"  p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  ({run.errors} errors)"
            )
        print(f"    {opened_cpu}")
        print(f"    {opened.spread}")
        if args.profile:
            load = partial(open_loop, server.base, tokens, ids, rate, args.profile + 1, args.connections)
            print(profile(server.pids[-1], args.profile, load))
            ids = ids[round(rate * (OPEN_LOOP_WARMUP + args.profile + 1)) :]


async def sequences(base: str, authorization: str, count: int, concurrency: int) -> Figures:
    """create → submit → accept, ``count`` times, ``concurrency`` at a time."""
    latencies: list[float] = []
    failures = 0
    todo = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers, timeout=60) as client:

        async def call(query: str, variables: dict[str, Any]) -> Any:
            nonlocal failures
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            body = orjson.loads(response.content)
            if body.get("errors"):
                failures += 1
                raise RuntimeError(body["errors"])
            return body["data"]

        async def worker() -> None:
            for _ in todo:
                started = time.perf_counter()
                rma_id = (await call(CREATE, {"input": INPUT}))["rmaOrderCreate"]["id"]
                await call(SUBMIT, {"id": rma_id})
                await call(ACCEPT, {"id": rma_id})
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(count / elapsed, cuts[49] * 1000, cuts[98] * 1000, failures)


def run_sequences(base: str, authorization: str, count: int, concurrency: int) -> Figures:
    return asyncio.run(sequences(base, authorization, count, concurrency))


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU the processes used so far (those gone are left out)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """PostgreSQL's processes on this machine (none when the cluster is elsewhere)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == "postgres":
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _switches(pids: Iterable[int]) -> dict[int, int]:
    """The context switches each process made so far, voluntary (waiting for its socket) and
    not (preempted): each is a process put to sleep and woken, which an idle machine makes
    costlier than a busy one (those gone are left out)."""
    counts = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = [line.partition(":") for line in status]
        except OSError:
            continue
        counts[pid] = sum(int(value) for name, _, value in fields if name.endswith("ctxt_switches"))
    return counts


def _busy() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def _client_seconds() -> float:
    """CPU this process and its finished children (wrk) used so far: the client's."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


Measured = TypeVar("Measured", bound=Figures)


def with_cpu(
    server_pids: list[int], run: Callable[[], Measured], seconds: int, unit: str = "transition"
) -> tuple[Measured, str]:
    """``run``'s figures, and the CPU one ``unit`` cost the servers, PostgreSQL (its
    processes on this machine) and the client (wrk, or this process) while it ran, with how
    busy the machine was: on a shared machine the rate moves with its neighbours' load, and
    the CPU a unit cost tells whose work grew. ``seconds``: how long ``run`` lasts (0: its
    own time, measured)."""
    postgres = postgres_pids()
    started = time.perf_counter()
    switching = [*server_pids, *postgres]
    before = cpu_seconds(server_pids), cpu_seconds(postgres), _busy(), _client_seconds()
    switched = _switches(switching)
    figures = run()
    after = cpu_seconds(server_pids), cpu_seconds(postgres), _busy(), _client_seconds()
    switched_after = _switches(switching)
    # Only processes there before and after: a session closed meanwhile takes its count along.
    switches = sum(switched_after[pid] - made for pid, made in switched.items() if pid in switched_after)
    count = max(figures.rate * (seconds or time.perf_counter() - started), 1)
    servers = (after[0] - before[0]) / count * 1e6
    database = (after[1] - before[1]) / count * 1e6
    client = (after[3] - before[3]) / count * 1e6
    busy = (after[2][0] - before[2][0]) / max(after[2][1] - before[2][1], 1) * 100
    cpu = (
        f"servers {servers:.0f} µs, PostgreSQL {database:.0f} µs, client {client:.0f} µs; "
        f"machine {busy:.0f} % busy; servers and PostgreSQL {switches / count:.1f} context switches"
    )
    return figures, f"CPU per {unit}: {cpu}"


def pgbench(url: str, seconds: int, connections: int) -> float:
    """pgbench's TPC-B-like write TPS on a scratch database of the same cluster."""
    scratch = plain_dsn(fresh_database(url, "rma_pgbench"))
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", scratch], check=True, capture_output=True)
    output = subprocess.run(
        ["pgbench", "-c", str(connections), "-j", "2", "-T", str(seconds), scratch],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    drop_database(url, "rma_pgbench")
    return float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]


async def seed_in_new(url: str, count: int, organizations: int) -> tuple[list[str], list[tuple[str, int]]]:
    """``organizations`` new organizations sharing ``count`` RMA orders in NEW; their ids
    interleaved across the organizations, each with its organization's index."""
    await asyncio.to_thread(migrate, url)
    engine = create_async_engine(url)
    seeded = [await seed(engine, count // organizations, status="NEW") for _ in range(organizations)]
    per_organization = []
    # Vacuumed and analysed after the load, as bench_reads does: autovacuum stays out of the runs.
    async with engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM (ANALYZE)"))
    async with engine.begin() as conn:
        for organization in seeded:
            query = text("SELECT id FROM rma_order WHERE organization_id = :o ORDER BY id")
            per_organization.append(list((await conn.execute(query, {"o": organization})).scalars()))
    await engine.dispose()
    ids = [
        (rma_id, index) for row in zip(*per_organization, strict=False) for index, rma_id in enumerate(row)
    ]
    return seeded, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sequences", type=int, default=600)
    parser.add_argument(
        "--rmas",
        type=int,
        default=0,
        help=f"RMA orders seeded in NEW per worker count (default: {RMAS_PER_SECOND:,} per --seconds + 1)",
    )
    parser.add_argument(
        "--organizations", type=int, default=1, help="spread the transitions over this many organizations"
    )
    parser.add_argument(
        "--paced",
        type=float,
        nargs="+",
        default=[],
        metavar="RATE",
        help="only single transitions at these rates per second, one after the other (versions "
        "compared at one rate, or what a transition costs as the load grows)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="print py-spy's profile of one of our workers on transitions (saturated; with --paced, "
        "in the open loop at each rate)",
    )
    args = parser.parse_args()
    args.rmas = args.rmas or RMAS_PER_SECOND * (args.seconds + 1)
    url = os.environ["DATABASE_URL"]
    if not args.paced:
        tps = pgbench(url, args.seconds, args.connections)
        print(f"pgbench (TPC-B-like writes, {args.connections} clients): {tps:.0f} TPS")
    for workers in args.workers:
        organizations, ids = asyncio.run(seed_in_new(url, args.rmas, args.organizations))
        credentials = [client_credentials(our_env(url), organization) for organization in organizations]
        print(
            f"== {workers} worker(s), {args.connections} connections, {args.seconds} s, "
            f"{args.organizations} organization(s)"
        )
        with ours(url, workers) as server:
            tokens = [f"Bearer {token(server.base, pair)}" for pair in credentials]
            # Warm up on a few, then measure on the others.
            transitions(server.base, tokens, ids[:500], seconds=2, connections=args.connections)
            if args.paced:
                at_rates(server, tokens, ids[500:], args)
                continue
            saturated = partial(
                transitions,
                server.base,
                tokens,
                ids[500:],
                seconds=args.seconds,
                connections=args.connections,
            )
            full, cpu = with_cpu(server.pids, saturated, args.seconds)
            enough(full, ids[500:])
            used = 500 + full.reached
            half = paced(server.base, tokens, ids[used:], full.rate / 2, args)
            used += half.reached
            opened, opened_cpu = measured_open_loop(server, tokens, ids[used:], full.rate / 2, args)
            used += opened.reached
            if args.profile:
                rest = ids[used:]
                load = partial(
                    transitions,
                    server.base,
                    tokens,
                    rest,
                    seconds=args.profile + 1,
                    connections=args.connections,
                )
                print(profile(server.pids[-1], args.profile, load))
            sequence, sequence_cpu = with_cpu(
                server.pids,
                partial(run_sequences, server.base, tokens[0], args.sequences, args.connections),
                0,
                "sequence",
            )
        rows: list[tuple[str, Figures, str | None]] = [
            ("single transitions, saturated", full, cpu),
            (f"single transitions at {full.rate / 2:.0f}/s", half, None),
            ("  the same, open loop", opened, opened_cpu),
            ("create → submit → accept", sequence, sequence_cpu),
        ]
        for name, figures, cpu_line in rows:
            if figures.errors:
                raise SystemExit(f"{name}: {figures.errors} answers had errors")
            unit = "sequences/s" if "create" in name else "req/s"
            print(
                f"  {name:<36} {figures.rate:8.0f} {unit:<11}  p50 {figures.p50_ms:7.2f} ms"
                f"  p99 {figures.p99_ms:7.2f} ms   ({figures.rate / tps:.2f}× pgbench TPS)"
            )
            if cpu_line is not None:
                print(f"    {cpu_line}")
            if isinstance(figures, Transitions) and figures.spread:
                print(f"    {figures.spread}")


if __name__ == "__main__":
    main()
