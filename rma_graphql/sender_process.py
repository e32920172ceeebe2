"""``rma-graphql serve`` on PostgreSQL with ``RMA_SENDER_PROCESS=true``: the webhook and
notification senders in a process of their own (``rma-graphql worker``), at a lower CPU
priority than the servers (``RMA_SENDER_NICE``), instead of in every server process.

The kernel then gives the requests the cores first and the senders what is left: deriving a
submit's mail is about a fifth of a transition's CPU in the servers, and it no longer runs
between their requests. The senders read the event log from their cursors, so a sender left
behind by a busy machine catches up, in larger rounds, as soon as it gets the time. The price
is one more process that hears every commit (``LISTEN``). The process is started again when it
dies, stopped with the server, and stops by itself when the server is gone.
"""

import contextlib
import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger("rma_graphql.senders")

# How long stopping waits for the senders' step under way (theirs is 10 s), then kills.
STOP_SECONDS = 15.0
# Between a sender process that died and the next.
RESTART_SECONDS = 1.0
# The servers' settings: the senders are not theirs.
SERVERS_LEAVE_THEM = {"RMA_WEBHOOK_DELIVERY": "false", "RMA_NOTIFICATION_DELIVERY": "false"}


class SenderProcess:
    """``rma-graphql worker --no-migrate --nice N --parent PID`` (this process) with this
    process's environment, started again when it fails while the server runs, stopped with it."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self.command = [sys.executable, "-m", "rma_graphql.startup", "worker", "--no-migrate"]
        self.command += ["--nice", str(nice), "--parent", str(os.getpid())]
        self.environment = dict(os.environ)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="sender-process", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(self.command, env=self.environment)
            # At once, not when the worker has imported enough to do it itself (it does too).
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self._process.pid, self.nice)

    def _watch(self) -> None:
        while True:
            process = self._process
            assert process is not None
            code = process.wait()
            # 0: stopped by a signal (SIGINT from a terminal reaches the whole group).
            if self._stopping.is_set() or code == 0:
                return
            log.warning("the sender process exited (%s); starting another", code)
            if self._stopping.wait(RESTART_SECONDS):
                return
            self._spawn()

    def stop(self) -> None:
        """Let the senders finish their step, then end the process (killed past STOP_SECONDS)."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
