"""A served process writes its request lines together, a moment after the requests, and
everything it holds when it stops (rma_graphql/logs.py BufferedLines, log_info)."""

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_fanout import ServerProcess


def _request_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == "request"]


def test_request_lines_wait_to_be_written_together_and_are_all_written_when_the_server_stops(
    database_url: str,
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "serve.log"
        # Longer than the test takes: the lines are written when the server stops.
        with (
            log.open("w") as output,
            ServerProcess(
                database_url, output=output, RMA_LOG_LEVEL="info", RMA_LOG_FLUSH_SECONDS="10"
            ) as server,
        ):
            ids = [f"{number:032x}" for number in range(1, 4)]
            statuses = [
                httpx.post(
                    f"{server.url}/graphql",
                    json={"query": "{ __typename }"},
                    headers={"X-Request-Id": request_id},
                ).status_code
                for request_id in ids
            ]
            waiting = [line["request_id"] for line in _request_lines(log)]
        stopped = _request_lines(log)

    assert statuses == [401, 401, 401]  # no token: answered, and logged all the same
    assert not set(ids) & set(waiting)
    assert [line["request_id"] for line in stopped[-3:]] == ids
    # Made at once (the process's only handler), as the logging module would have made it.
    first = stopped[-3]
    assert list(first)[:5] == ["event", "request_id", "level", "logger", "timestamp"]
    assert (first["level"], first["logger"], first["status"]) == ("info", "rma_graphql.requests", 401)
    assert (first["method"], first["path"], first["outcome"]) == ("POST", "/graphql", "http_401")
    assert first["timestamp"].endswith("Z")
