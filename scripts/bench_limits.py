"""Benchmark: how long the schema takes to answer documents that only the query limits
stand between and the event loop: fragment bombs (twenty and twenty-four fragments that
each spread the next twice) and the stock introspection query. Runs in-process, without
a server or a database, and prints milliseconds per document (median of a few runs).

    python scripts/bench_limits.py [--runs 5] [--timeout 60]
"""

import argparse
import asyncio
import statistics
import time

from graphql import get_introspection_query

from rma_graphql.api.schema import build_schema


def fragment_bomb(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    documents = {
        "fragment bomb F20 (824 bytes)": fragment_bomb(20),
        "fragment bomb F24 (984 bytes)": fragment_bomb(24),
        "stock introspection query": get_introspection_query(descriptions=True, input_value_deprecation=True),
    }
    for name, document in documents.items():
        timings: list[float] = []
        outcome = ""
        for _ in range(args.runs):
            # A new schema each run: no cache holds the answer of the previous one.
            schema = build_schema()
            start = time.perf_counter()
            try:
                result = await asyncio.wait_for(schema.execute(document), args.timeout)
            except TimeoutError:
                print(f"{name} ms: over {args.timeout * 1000:.0f} (stopped)")
                break
            timings.append(time.perf_counter() - start)
            outcome = result.errors[0].message[:80] if result.errors else "answered"
        else:
            print(f"{name} ms: {statistics.median(timings) * 1000:.1f} ({outcome})")


if __name__ == "__main__":
    asyncio.run(main())
