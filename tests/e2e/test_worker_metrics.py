"""/metrics of a server with several workers: a scrape answered by any worker counts the
requests every worker answered."""

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest

from rma_graphql.api.observability import MULTIPROCESS_DIRECTORY, Metrics
from tests.conftest import DATABASE
from tests.e2e.test_fanout import ServerProcess

HEALTH = 'rma_requests_total{operation="GET /healthz",outcome="ok"}'

# A worker: its own process, answering some requests, then gone.
WORKER = """
import sys
from rma_graphql.api.observability import Metrics
metrics = Metrics()
for _ in range(int(sys.argv[1])):
    metrics.observe("GET /healthz", "ok", 0.003)
"""


def _count(body: str) -> float:
    found = re.search(re.escape(HEALTH) + r" ([0-9.e+]+)", body)
    return float(found.group(1)) if found else 0.0


def test_a_scrape_sums_what_every_worker_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for answered in (3, 5):
        subprocess.run(
            [sys.executable, "-c", WORKER, str(answered)],
            env={MULTIPROCESS_DIRECTORY: str(tmp_path), "PATH": ""},
            check=True,
        )
    monkeypatch.setenv(MULTIPROCESS_DIRECTORY, str(tmp_path))

    body = generate_latest(Metrics().registry).decode()

    assert _count(body) == 8
    assert 'rma_request_duration_seconds_count{operation="GET /healthz"} 8.0' in body


@pytest.mark.skipif(DATABASE != "postgresql", reason="several workers need PostgreSQL")
def test_serve_with_two_workers_shares_its_request_counts(database_url: str, tmp_path: Path) -> None:
    shared = {MULTIPROCESS_DIRECTORY: str(tmp_path)}
    with (
        ServerProcess(database_url, workers=2, **shared) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        before = _count(http.get("/metrics").text)
        answered = sum(httpx.get(f"{server.url}/healthz").status_code == 200 for _ in range(40))
        scrapes = [_count(httpx.get(f"{server.url}/metrics").text) for _ in range(6)]

    assert answered == 40
    assert scrapes == [before + 40] * 6
    assert list(tmp_path.glob("counter_*.db"))  # the workers counted in the shared files
