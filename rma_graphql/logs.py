"""Logging: one JSON object per line by default (``RMA_LOG_FORMAT=console`` for a person at
a terminal), through structlog; the standard library's records (uvicorn's, SQLAlchemy's,
ours) come out the same way. What a request binds (its ``request_id``) is in every line
logged while it runs.

Nothing personal or secret is logged: no query text, no variables, no headers, no client
address; an actor is named by its id.
"""

import asyncio
import logging
import sys
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import structlog

_HANDLER_NAME = "rma_graphql"
# The most a buffer holds before it is written, whatever its time.
BUFFER_BYTES = 64 * 1024
QUIET_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg", "httpx", "httpcore", "multipart")


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


# What a standard library record holds of its own: any other attribute is an ``extra`` field.
_RECORD_KEYS = frozenset(logging.LogRecord("name", 0, "pathname", 0, "msg", (), None).__dict__)


class JsonLines(logging.Formatter):
    """The JSON line of a standard library record, exactly as structlog's ProcessorFormatter
    makes it with the processors below (the same keys, in the same order, the same values),
    without its per-record copy and chain of calls: a request's log line cost as much as
    reading the RMA order it answers. Records structlog itself made go through ``full``."""

    def __init__(self, full: logging.Formatter) -> None:
        super().__init__()
        self.full = full

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "_logger") and hasattr(record, "_name"):  # structlog's own
            return self.full.format(record)
        line: MutableMapping[str, Any] = {"event": record.getMessage()}
        if record.exc_info:
            line["exc_info"] = record.exc_info
        if record.stack_info:
            line["stack_info"] = record.stack_info
        line = _headed(line, record.levelname.lower(), record.name)
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS:
                line[key] = value
        if "exc_info" in line:
            line = structlog.processors.dict_tracebacks(None, "", line)
        return _dumps(line)


def _headed(line: MutableMapping[str, Any], level: str, name: str) -> MutableMapping[str, Any]:
    """``line`` (its event first) with what every line has: the context's bound values, the
    level, the logger's name and the time."""
    line = structlog.contextvars.merge_contextvars(None, "", line)
    line["level"] = level
    line["logger"] = name
    line["timestamp"] = utc_stamp(time.time_ns())
    return line


# The last second stamped, and its text (one tuple: a thread reads both of the same second).
_stamped: tuple[int, str] = (-1, "")


def utc_stamp(nanoseconds: int) -> str:
    """The time as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it (ISO 8601, UTC,
    ``Z``, microseconds unless none), its date and time of day made once per second: made anew
    for every line, it was half of a line's own time."""
    global _stamped
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    second, text = _stamped
    if second != seconds:
        text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _stamped = (seconds, text)
    micro = rest // 1000
    return f"{text}.{micro:06d}Z" if micro else f"{text}Z"


class BufferedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines written together, at most ``seconds`` after the first of them was logged (or
    once ``BUFFER_BYTES`` wait), as a web server buffers its access log: a write per line
    woke whatever reads the stream (a pipe's reader, the journal) once per request. A record
    at WARNING or above is written at once, with the lines before it. Outside an event loop
    (a command, another thread), and with ``seconds`` 0, every line is written as it is
    logged. What waits is written by ``flush``, which ``logging.shutdown`` calls at exit."""

    def __init__(self, stream: TextIO, seconds: float) -> None:
        super().__init__(stream)
        self.seconds = seconds
        self._lines: list[str] = []
        self._size = 0
        # The loop whose timer writes the lines waiting (None: none waits for one).
        self._loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._add(line, record.levelno)

    def add(self, line: str, level: int) -> None:
        """A line made elsewhere (``log_info``), as ``emit`` adds a record's."""
        self.acquire()
        try:
            self._add(line, level)
        finally:
            self.release()

    def _add(self, line: str, level: int) -> None:
        self._lines.append(line)
        self._size += len(line) + 1
        if not self._may_wait(level):
            self.flush()

    def _may_wait(self, level: int) -> bool:
        if self.seconds <= 0 or level >= logging.WARNING or self._size >= BUFFER_BYTES:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._loop is None:
            self._loop = loop
            loop.call_later(self.seconds, self.flush)
        return loop is self._loop

    def flush(self) -> None:
        """Write the lines waiting. A timer set for them is left to run (it may belong to
        another thread's loop): it writes whatever waits by then, sooner than its own time."""
        self.acquire()
        try:
            self._loop = None
            if self._lines:
                text = "\n".join(self._lines) + "\n"
                self._lines, self._size = [], 0
                self.stream.write(text)
            super().flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "log lines could not be written"}))
        finally:
            self.release()


def log_info(logger: logging.Logger, event: str, fields: dict[str, Any]) -> None:
    """``logger.info(event, extra=fields)``, as a JSON line made at once when it would go
    only to the handler ``configure_logging`` installed, unfiltered (a served process's
    request lines): the same line without a record, its trip through the logging module and
    its copy of the fields (10-12 µs of a server's CPU per request line instead of 23-31,
    measured in the server under single transitions). Any other handler or filter on the
    way (a test's capture) gets the record."""
    handler = _sole_handler(logger)
    if handler is None:
        logger.info(event, extra=fields)
        return
    line = _headed({"event": event}, "info", logger.name)
    line.update(fields)
    handler.add(_dumps(line), logging.INFO)


def _sole_handler(logger: logging.Logger) -> "BufferedLines | None":
    root = logging.root
    if len(root.handlers) != 1 or root.filters or not logger.isEnabledFor(logging.INFO):
        return None
    handler = root.handlers[0]
    if type(handler) is not BufferedLines or type(handler.formatter) is not JsonLines or handler.filters:
        return None
    if handler.level > logging.INFO:
        return None
    on_the_way: logging.Logger | None = logger
    while on_the_way is not None and on_the_way is not root:
        if on_the_way.handlers or on_the_way.filters or not on_the_way.propagate:
            return None
        on_the_way = on_the_way.parent
    return handler


def flush_logs() -> None:
    """Write the lines the handler ``configure_logging`` installed holds (a served process's
    lifespan ends with this: its loop's timer would not run again)."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.flush()


def configure_logging(log_format: str = "json", level: str = "info", flush_seconds: float = 0.0) -> None:
    """Route every logger through one handler on stderr, rendering JSON or console lines,
    written together up to ``flush_seconds`` after they were logged (``BufferedLines``).

    Called once per process that serves (each worker too); calling it again replaces the
    handler it installed, and leaves other handlers (a test's capture) in place.
    """
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        tail: list[Any] = []
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        tail = [structlog.processors.dict_tracebacks]
    formatter: logging.Formatter = structlog.stdlib.ProcessorFormatter(
        # A standard library record's ``extra`` fields become the line's fields.
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )
    if log_format != "console":
        formatter = JsonLines(formatter)
    # No line says where in the code it was logged, in which thread or process: the standard
    # library then skips looking those up for every record (a third of a line's cost).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BufferedLines(sys.stderr, flush_seconds)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            existing.flush()
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One line per request comes from the app itself; uvicorn's access lines would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    # These log statements with their parameters (people's names, addresses, password
    # hashes) at INFO and DEBUG: never below WARNING, whatever the level.
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
