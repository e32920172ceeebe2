"""Page-load benchmark of the back office and the portal, as `make run` serves them: the
embedded SQLite database with N RMA orders × 3 lines (10,000 by default), one server
process, Debian's Chromium driven by Playwright.

For each page it prints, medians of the rounds:
  first render: from navigation to the page showing its data (the list's count, the
                detail's heading, the dashboard's totals, the portal's orders);
  query:        the page's main GraphQL request as the browser timed it (Resource Timing).

    .venv/bin/python scripts/bench_pages.py [--rmas 10000] [--rounds 5]
"""

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_servers import cli, our_env, ours
from playwright.async_api import Page, async_playwright
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db import tables as t
from rma_graphql.db.migrate import migrate
from rma_graphql.service import demo
from rma_graphql.service.organizations import admin_caller, create_organization
from rma_graphql.service.unit_of_work import UnitOfWork

PASSWORD = "bench password"
PROCESSING = ["NEW", "REQUESTED", "ACCEPTED", "PROCESSING", "COMPLETE", "REJECTED", "CANCELED", "ON_HOLD"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def _rma(organization: str, configuration: Any, n: int, start: datetime) -> dict[str, Any]:
    at = start + timedelta(minutes=n)
    return {
        "id": str(uuid.uuid4()),
        "organization_id": organization,
        "configuration_id": configuration.id,
        "location_id": configuration.location_id,
        "return_number": 1000 + n,
        "return_reference": f"RMA-{1000 + n}",
        "tp_app_key": "",
        "currency": "EUR",
        "apply_return_fee": False,
        "return_fee": 0,
        "delivery_contact": {"fullname": "Warehouse"},
        "sender": {"fullname": f"Customer {n}", "email": f"customer{n}@example.com"},
        "received_at": at,
        "issued_at": at,
        "expected_resolution": "REFUND",
        "processing_status": PROCESSING[(n * 7) % len(PROCESSING)],
        "delivery_status": "PENDING",
        "financial_status": "PENDING",
        "fulfillment_status": "PENDING",
        "auto_generate_financial_resolution": False,
        "auto_execute_financial_resolution": False,
        "retained_amount_for_shipping": 0,
        "version": 1,
        "last_event_sequence": 1,
        "created_at": at,
        "updated_at": at,
    }


async def seed(url: str, count: int) -> str:
    """A new organization with the demo catalog and ``count`` RMA orders × 3 lines."""
    engine = create_async_engine(url)
    uow = UnitOfWork(engine)
    organization = await create_organization(uow, f"Pages {count}")
    await demo.seed(uow, admin_caller(organization))
    start = datetime.now(UTC) - timedelta(minutes=count + 1)
    async with engine.begin() as conn:
        configuration = (
            await conn.execute(
                select(t.rma_configuration.c.id, t.rma_configuration.c.location_id).where(
                    t.rma_configuration.c.organization_id == organization
                )
            )
        ).one()
        rows = [_rma(organization, configuration, n, start) for n in range(1, count + 1)]
        await conn.execute(insert(t.rma_order), rows)
        searched = [
            {
                "rma_order_id": row["id"],
                "organization_id": organization,
                "search_text": f"rma-{row['return_number']}\ncustomer {row['return_number'] - 1000}\n"
                f"customer{row['return_number'] - 1000}@example.com",
            }
            for row in rows
        ]
        await conn.execute(insert(t.rma_order_search), searched)
        lines = [
            {
                "id": str(uuid.uuid4()),
                "organization_id": organization,
                "rma_order_id": row["id"],
                "position": p,
                "sku": f"SKU-{p}",
                "quantity": 1,
                "reason": "DEFECTIVE",
                "line_state": "PENDING",
            }
            for row in rows
            for p in range(3)
        ]
        await conn.execute(insert(t.rma_order_line), lines)
        await conn.execute(
            update(t.organization)
            .where(t.organization.c.id == organization)
            .values(last_return_number=1000 + count)
        )
    await engine.dispose()
    return organization


async def _timed(page: Page, url: str, ready: str) -> tuple[float, float]:
    """Milliseconds from navigation to ``ready`` showing, and of the slowest /graphql fetch."""
    await page.goto("about:blank")
    started = await page.evaluate("performance.timeOrigin + performance.now()")
    await page.goto(url)
    await page.wait_for_selector(ready, state="visible")
    shown = await page.evaluate("performance.timeOrigin + performance.now()")
    fetches = await page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.endsWith('/graphql'))"
        ".map(e => e.duration)"
    )
    return shown - started, max(fetches, default=0.0)


async def run(base: str, organization: str, rma_id: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Debian's chromium (make test installs it)")
    pages = {
        "back office list (25 of N, newest first)": ("/admin#/", "#count"),
        "back office list filtered (REQUESTED)": ("/admin#/?processingStatus=REQUESTED", "#count"),
        "back office list searched (a reference)": ("/admin#/?search=RMA-1500", "#count"),
        "back office detail": (f"/admin#/rma/{rma_id}", "#rma-title"),
        "back office dashboard (30 days)": ("/admin#/dashboard", "#total-returns"),
        "portal orders (a customer)": ("/portal", "section.card h2"),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
        for who, names in (("bench-admin", list(pages)[:-1]), ("bench-ada", list(pages)[-1:])):
            page = await browser.new_page()
            await page.goto(base + ("/admin" if who == "bench-admin" else "/portal"))
            await page.fill("#username", who)
            await page.fill("#password", PASSWORD)
            await page.click("#login-title ~ button[type=submit]")
            await page.wait_for_selector("header .who" if who == "bench-admin" else "section.card h2")
            for _ in range(rounds):
                for name in names:
                    path, ready = pages[name]
                    results[name].append(await _timed(page, base + path, ready))
            await page.close()
        await browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rmas", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}"
        migrate(url)
        organization = asyncio.run(seed(url, args.rmas))
        env = our_env(url)
        for username, role, email in (
            ("bench-admin", "ADMIN", "admin@example.com"),
            ("bench-ada", "CUSTOMER", "ada@example.com"),
        ):
            user = ["--username", username, "--email", email, "--password", PASSWORD, "--role", role]
            cli(env, "users", "create", "--organization", organization, *user)
        rma_id = asyncio.run(_some_rma(url, organization))
        with ours(url, 1) as server:
            results = asyncio.run(run(server.base, organization, rma_id, args.rounds))
    print(f"{args.rmas} RMA orders × 3 lines on SQLite, 1 server process, Chromium; medians of {args.rounds}")
    print(f"{'page':<45} {'first render':>14} {'query':>10}")
    for name, figures in results.items():
        render = statistics.median(f[0] for f in figures)
        query = statistics.median(f[1] for f in figures)
        print(f"{name:<45} {render:>11.0f} ms {query:>7.0f} ms")
    print(json.dumps(results), file=sys.stderr)


async def _some_rma(url: str, organization: str) -> str:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        found: str = (
            await conn.execute(
                select(t.rma_order.c.id).where(t.rma_order.c.organization_id == organization).limit(1)
            )
        ).scalar_one()
    await engine.dispose()
    return found


if __name__ == "__main__":
    main()
