"""Logging: one JSON object per line by default (``RMA_LOG_FORMAT=console`` for a person at
a terminal), through structlog; the standard library's records (uvicorn's, SQLAlchemy's,
ours) come out the same way. What a request binds (its ``request_id``) is in every line
logged while it runs.

Nothing personal or secret is logged: no query text, no variables, no headers, no client
address; an actor is named by its id.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

_HANDLER_NAME = "rma_graphql"
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
        self._stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "_logger") and hasattr(record, "_name"):  # structlog's own
            return self.full.format(record)
        line: MutableMapping[str, Any] = {"event": record.getMessage()}
        if record.exc_info:
            line["exc_info"] = record.exc_info
        if record.stack_info:
            line["stack_info"] = record.stack_info
        line = structlog.contextvars.merge_contextvars(None, "", line)
        line["level"] = record.levelname.lower()
        line["logger"] = record.name
        line = self._stamp(None, "", line)
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS:
                line[key] = value
        if "exc_info" in line:
            line = structlog.processors.dict_tracebacks(None, "", line)
        return _dumps(line)


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """Route every logger through one handler on stderr, rendering JSON or console lines.

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
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One line per request comes from the app itself; uvicorn's access lines would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    # These log statements with their parameters (people's names, addresses, password
    # hashes) at INFO and DEBUG: never below WARNING, whatever the level.
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
