"""Two versions of the server side by side on this machine, loaded at the same time: single
transitions sent to both at once, each by its own client, in rounds of a few seconds. The
machine's speed drifts within seconds by more than most changes move a run (one version run
after the other: ±20 % from one 3-second run to the next), and at the same time both meet
the same machine. Per version, the mean of its rounds; per figure, the mean difference of
the rounds with its 95 % confidence interval (Student's t).

A is this checkout; B is ``--against REV`` (a git revision of this repository, its tree
exported to a temporary directory and served from there with this checkout's virtual
environment; HEAD by default), with ``--b-setting NAME=VALUE`` on top (the same code with
another setting). Each serves a database of its own on the same cluster, seeded alike: the
URL's database for A, the same name with ``_b`` for B (dropped and made anew), with its
``--workers``; the CPU of each is its servers' and its database's sessions'. The two
versions must have the same migrations.

    DATABASE_URL=postgresql+asyncpg://… .venv/bin/python scripts/bench_ab.py
        [--against REV] [--b-setting NAME=VALUE …] [--workers 2] [--rounds 6] [--seconds 5]
        [--rate RATE]   (each sent on schedule at RATE/s, scripts/open_loop.mjs; without it,
                         wrk's 16 connections each, as fast as answered)
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench_servers import ROOT, Server, client_credentials, fresh_database, our_env, ours, token
from bench_writes import (
    OPEN_LOOP_WARMUP,
    Transitions,
    cpu_seconds,
    enough,
    open_loop,
    postgres_pids,
    seed_in_new,
    transitions,
)
from sqlalchemy import make_url

# Transitions per second a saturated round may reach on one side (RMA orders seeded for it).
SATURATED_CEILING = 2_500
WARM_UP = 500
MIGRATIONS = Path("rma_graphql/db/migrations/versions")
# Student's t at 97.5 % for 1–30 degrees of freedom (a 95 % two-sided interval).
T_975 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13]
T_975 += [2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04]


@dataclass
class Side:
    server: Server
    database: str
    tokens: list[str]
    ids: list[tuple[str, int]]


@dataclass
class Round:
    rate: float
    p50_ms: float
    p99_ms: float
    servers_us: float
    postgres_us: float


def exported(revision: str, into: Path) -> Path:
    """The tree of ``revision`` written into ``into``, with the same migrations as this
    checkout's (else the two would need databases migrated by each)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    ours_, theirs = (sorted(p.name for p in (root / MIGRATIONS).glob("*.py")) for root in (ROOT, into))
    if ours_ != theirs:
        raise SystemExit(f"{revision} has other migrations than this checkout: compare them run by run")
    return into


def _sessions(database: str) -> list[int]:
    """The PostgreSQL sessions of this machine connected to ``database``."""
    found = []
    for pid in postgres_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                words = cmdline.read().replace(b"\0", b" ").split()
        except OSError:
            continue
        if len(words) > 2 and words[2].decode(errors="replace") == database:
            found.append(pid)
    return found


def _load(side: Side, args: argparse.Namespace) -> Transitions:
    if args.rate:
        return open_loop(side.server.base, side.tokens, side.ids, args.rate, args.seconds, 16)
    chunk = side.ids[: SATURATED_CEILING * args.seconds]
    run = transitions(side.server.base, side.tokens, chunk, seconds=args.seconds, connections=16)
    enough(run, chunk)
    return run


def together(sides: dict[str, Side], args: argparse.Namespace) -> dict[str, Round]:
    """One round of single transitions on both sides at once (each with its own client), and
    the CPU a transition cost each side's servers and its database's sessions."""
    sessions = {name: _sessions(side.database) for name, side in sides.items()}
    started = time.perf_counter()
    before = {
        name: (cpu_seconds(side.server.pids), cpu_seconds(sessions[name])) for name, side in sides.items()
    }
    with ThreadPoolExecutor(len(sides)) as pool:
        runs = dict(zip(sides, pool.map(lambda side: _load(side, args), sides.values()), strict=True))
    elapsed = time.perf_counter() - started
    figures = {}
    for name, side in sides.items():
        run = runs[name]
        count = max(run.rate * elapsed, 1)
        servers = (cpu_seconds(side.server.pids) - before[name][0]) / count * 1e6
        database = (cpu_seconds(sessions[name]) - before[name][1]) / count * 1e6
        figures[name] = Round(run.rate, run.p50_ms, run.p99_ms, servers, database)
        side.ids = side.ids[run.reached :]
    return figures


def interval(differences: list[float]) -> str:
    mean = statistics.mean(differences)
    if len(differences) < 2:
        return f"{mean:+.1f}"
    half = T_975[min(len(differences) - 2, len(T_975) - 1)] * statistics.stdev(differences)
    half /= len(differences) ** 0.5
    return f"{mean:+.1f} ± {half:.1f}"


def report(runs: dict[str, list[Round]]) -> None:
    figures: list[tuple[str, Callable[[Round], float]]] = [
        ("transitions/s", lambda s: s.rate),
        ("p50 ms", lambda s: s.p50_ms),
        ("p99 ms", lambda s: s.p99_ms),
        ("servers µs/transition", lambda s: s.servers_us),
        ("PostgreSQL µs/transition", lambda s: s.postgres_us),
    ]
    print(f"{'':26} {'A':>10} {'B':>10}   B − A (95 %)")
    for name, figure in figures:
        a, b = ([figure(one) for one in runs[side]] for side in ("A", "B"))
        differences = [y - x for x, y in zip(a, b, strict=True)]
        print(f"{name:26} {statistics.mean(a):10.1f} {statistics.mean(b):10.1f}   {interval(differences)}")


def compare(args: argparse.Namespace, tree: Path) -> None:
    url = os.environ["DATABASE_URL"]
    per_round = (
        args.rate * (args.seconds + OPEN_LOOP_WARMUP) if args.rate else SATURATED_CEILING * args.seconds
    )
    count = WARM_UP + round(per_round * args.rounds)
    # B's database beside A's, made anew.
    urls = {"A": url, "B": fresh_database(url, f"{make_url(url).database}_b")}
    seeded = {name: asyncio.run(seed_in_new(one, count, 1)) for name, one in urls.items()}
    settings = dict(pair.partition("=")[::2] for pair in args.b_setting)
    with (
        ours(urls["A"], args.workers) as a_server,
        ours(urls["B"], args.workers, root=tree, settings=settings) as b_server,
    ):
        sides = {}
        for name, server in (("A", a_server), ("B", b_server)):
            organizations, ids = seeded[name]
            credentials = client_credentials(our_env(urls[name]), organizations[0])
            database = str(make_url(urls[name]).database)
            sides[name] = Side(server, database, [f"Bearer {token(server.base, credentials)}"], ids)
            transitions(server.base, sides[name].tokens, ids[:WARM_UP], seconds=2, connections=16)
            sides[name].ids = ids[WARM_UP:]
        runs: dict[str, list[Round]] = {"A": [], "B": []}
        for number in range(1, args.rounds + 1):
            for name, one in together(sides, args).items():
                runs[name].append(one)
                print(
                    f"  round {number} {name}: {one.rate:7.0f}/s  p50 {one.p50_ms:6.2f} ms  "
                    f"p99 {one.p99_ms:6.2f} ms  servers {one.servers_us:5.0f} µs  "
                    f"PostgreSQL {one.postgres_us:5.0f} µs",
                    flush=True,
                )
    report(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", metavar="REV", help="B's git revision")
    parser.add_argument("--b-setting", nargs="*", default=[], metavar="NAME=VALUE", help="B's settings")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="of each round")
    parser.add_argument("--rate", type=float, default=0, help="open loop at this rate (else saturated)")
    args = parser.parse_args()
    if any("=" not in pair for pair in args.b_setting):
        parser.error("--b-setting takes NAME=VALUE pairs, such as RMA_SENDER_PROCESS=true")
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.against],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    mode = f"open loop at {args.rate:.0f}/s" if args.rate else "saturated"
    print(f"A: this checkout; B: {revision} {' '.join(args.b_setting)}; {args.workers} workers, {mode}")
    with tempfile.TemporaryDirectory() as directory:
        compare(args, exported(args.against, Path(directory)))


if __name__ == "__main__":
    main()
