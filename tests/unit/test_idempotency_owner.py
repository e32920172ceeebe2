"""Whether a retry waits for a first run: this process knows its own runs; another process
is waited for unless it is known to be gone."""

import os
import socket
import subprocess
import sys
from typing import Any

from rma_graphql.service.idempotency import Idempotency, owner

IDS = ("org", "API_CLIENT:c", "key-1")


def _idempotency() -> Idempotency:
    uow: Any = None
    return Idempotency(uow, ttl_seconds=60, wait_seconds=3600)


def test_this_process_knows_its_own_runs() -> None:
    keys = _idempotency()
    assert not keys._first_goes_on(IDS, owner())  # ended without an answer: rebuild now
    keys._running[IDS] += 1
    assert keys._first_goes_on(IDS, owner())


def test_another_process_is_waited_for_unless_gone() -> None:
    keys = _idempotency()
    host = socket.gethostname()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(ended.stdout)
    assert not keys._first_goes_on(IDS, f"{host}:{dead_pid}:boot")
    # A process that restarted under the same pid is another process.
    assert not keys._first_goes_on(IDS, f"{host}:{os.getpid()}:an-earlier-start")
    # A live process, or one on another host, may still answer.
    assert keys._first_goes_on(IDS, f"{host}:{os.getppid()}:boot")
    assert keys._first_goes_on(IDS, f"elsewhere:{dead_pid}:boot")
