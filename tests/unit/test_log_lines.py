"""The JSON log lines are made without structlog's per-record chain, and are the lines that
chain makes: the same keys in the same order, the same values; a request's line, made
without a record, is the line its record gives (rma_graphql/logs.py)."""

import contextlib
import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import structlog

from rma_graphql.logs import (
    BufferedLines,
    JsonLines,
    _dumps,
    _shared_processors,
    _sole_handler,
    configure_logging,
    flush_logs,
    log_info,
    utc_stamp,
)


def _chain() -> logging.Formatter:
    """structlog's formatter, as the JSON lines were made before."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )


def _record(message: str, *args: Any, level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    return logging.getLogger("rma_graphql.test").makeRecord(
        "rma_graphql.test", level, "here.py", 1, message, args, None, extra=extra
    )


def _failed() -> logging.LogRecord:
    try:
        raise ValueError("a bug")
    except ValueError:
        record = _record("it failed", level=logging.ERROR)
        record.exc_info = sys.exc_info()
    return record


def _stacked() -> logging.LogRecord:
    record = _record("where", level=logging.WARNING)
    record.stack_info = "Stack (most recent call last):\n  here"
    return record


def _formatted_elsewhere() -> logging.LogRecord:
    """A record another handler formatted first (it then holds message and asctime)."""
    record = _record("seen %s", "twice")
    logging.Formatter("%(asctime)s %(message)s").format(record)
    return record


RECORDS = {
    "plain": lambda: _record("started"),
    "arguments": lambda: _record("port %d on %s", 8000, "127.0.0.1"),
    "extra fields": lambda: _record(
        "request", status=200, root_fields=["rmaOrder"], operation_name=None, duration_ms=1.25
    ),
    "an exception": _failed,
    "a stack": _stacked,
    "formatted elsewhere": _formatted_elsewhere,
}


@pytest.mark.parametrize("name", RECORDS)
def test_a_line_is_the_line_structlog_makes(name: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="0123abcd", organization_id="org-1")
    try:
        record = RECORDS[name]()
        ours = orjson.loads(JsonLines(_chain()).format(record))
        theirs = orjson.loads(_chain().format(record))
    finally:
        structlog.contextvars.clear_contextvars()

    assert list(ours) == list(theirs)
    assert ours["timestamp"].endswith("Z")
    assert {**ours, "timestamp": None} == {**theirs, "timestamp": None}
    assert ours["request_id"] == "0123abcd"
    assert ours["event"] == record.getMessage()


@pytest.mark.parametrize(
    "nanoseconds",
    [
        1_764_720_000_000_000_000,  # a whole second: no microseconds, as isoformat leaves them out
        1_764_720_000_000_001_000,
        1_764_720_000_999_999_999,
        1_764_720_001_000_000_000,  # the next second, after the one before was kept
        946_684_799_500_000_000,
    ],
)
def test_a_stamp_is_the_one_structlog_writes(nanoseconds: int) -> None:
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)

    assert utc_stamp(nanoseconds) == moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def served_logging() -> Iterator[tuple[io.StringIO, BufferedLines]]:
    """The server's own log handler, writing to a buffer."""
    root = logging.getLogger()
    level = root.level
    configure_logging("json", "info", 10)
    [handler] = [h for h in root.handlers if h.get_name() == "rma_graphql"]
    buffer = io.StringIO()
    assert isinstance(handler, BufferedLines)
    handler.setStream(buffer)
    try:
        yield buffer, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


@contextlib.contextmanager
def alone(handler: logging.Handler) -> Iterator[None]:
    """``handler`` the root logger's only one, as in a served process (pytest adds its own
    while a test runs)."""
    root = logging.getLogger()
    kept = list(root.handlers)
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = kept


FIELDS = {
    "request_id": "9f2c",
    "transport": "http",
    "status": 200,
    "duration_ms": 1.25,
    "root_fields": ["rmaOrderSubmit"],
    "operation_name": None,
}


def test_a_line_made_at_once_is_the_line_of_the_record(
    served_logging: tuple[io.StringIO, BufferedLines],
) -> None:
    buffer, handler = served_logging
    logger = logging.getLogger("rma_graphql.requests")
    structlog.contextvars.bind_contextvars(request_id="0123abcd", organization_id="org-1")
    try:
        with alone(handler):
            direct = _sole_handler(logger)
            log_info(logger, "request", FIELDS)
            logger.info("request", extra=FIELDS)
            flush_logs()
    finally:
        structlog.contextvars.clear_contextvars()
    made, recorded = (orjson.loads(line) for line in buffer.getvalue().splitlines())

    assert isinstance(direct, BufferedLines)
    assert list(made) == list(recorded)
    assert {**made, "timestamp": None} == {**recorded, "timestamp": None}
    assert made["request_id"] == "9f2c"
    assert made["organization_id"] == "org-1"


def test_another_handler_on_the_way_gets_the_record(
    served_logging: tuple[io.StringIO, BufferedLines],
) -> None:
    buffer, handler = served_logging
    logger = logging.getLogger("rma_graphql.requests")
    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(capture)
    try:
        with alone(handler):
            direct = _sole_handler(logger)
            log_info(logger, "request", FIELDS)
            flush_logs()
    finally:
        logger.removeHandler(capture)

    assert direct is None
    assert [(record.getMessage(), record.request_id) for record in records] == [("request", "9f2c")]  # type: ignore[attr-defined]
    assert orjson.loads(buffer.getvalue())["request_id"] == "9f2c"
