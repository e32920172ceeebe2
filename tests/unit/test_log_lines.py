"""The JSON log lines are made without structlog's per-record chain, and are the lines that
chain makes: the same keys in the same order, the same values (rma_graphql/logs.py)."""

import logging
import sys
from typing import Any

import orjson
import pytest
import structlog

from rma_graphql.logs import JsonLines, _dumps, _shared_processors


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
