"""What the server tells its operators: a request id on every request, one log line per
request (per GraphQL operation on a websocket), and Prometheus metrics at ``/metrics``.

The request id comes from the client's ``X-Request-Id`` when it is a plain token, else it is
generated; it goes back in the response's ``X-Request-Id``, into every log line written
while the request runs, and into the message of a masked internal error.
"""

import logging
import os
import random
import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import structlog
from graphql import FieldNode, OperationDefinitionNode
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from rma_graphql.logs import log_info

logger = logging.getLogger("rma_graphql.requests")

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Label of operations whose fields are not known to be the schema's (they failed to parse or
# to validate): their names must not become label values.
INVALID = "invalid"
_STATIC_ROUTES = {"/graphql", "/oauth2/token", "/healthz", "/readyz", "/metrics", "/schema.graphql", "/"}


@dataclass
class RequestRecord:
    """What one request did, filled in as it runs and logged when it ends."""

    request_id: str
    transport: str
    fields: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[RequestRecord | None] = ContextVar("current_request", default=None)


def current_record() -> RequestRecord | None:
    """What the HTTP request being answered has recorded so far (None outside one)."""
    return _current.get()


def current_request_id() -> str | None:
    record = _current.get()
    return record.request_id if record is not None else None


def _new_request_id() -> str:
    """32 random hex digits. An id names a request in logs and is no secret: Python's own
    generator (seeded anew in every process, forked ones included) makes it without a system
    call per request."""
    return f"{random.getrandbits(128):032x}"


def _route(scope: Scope) -> str:
    path: str = scope.get("path", "")
    if path.startswith("/return-slips/"):
        path = "/return-slips/{id}.pdf"
    elif path.startswith("/graphiql-assets/"):
        path = "/graphiql-assets/{name}"
    elif path not in _STATIC_ROUTES:
        path = "other"
    return f"{scope.get('method', 'WS')} {path}"


class RequestObserver:
    """ASGI middleware: the request id, the request's log line, its metrics."""

    def __init__(self, app: ASGIApp, metrics: "Metrics") -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = given if given is not None and _CLIENT_ID.match(given) else _new_request_id()
        record = RequestRecord(request_id, "http" if scope["type"] == "http" else "websocket")
        reset = _current.set(record)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 0
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            raise
        finally:
            self._finish(scope, record, status, time.perf_counter() - started)
            structlog.contextvars.reset_contextvars(**bound)
            _current.reset(reset)

    def _finish(self, scope: Scope, record: RequestRecord, status: int, seconds: float) -> None:
        operation = record.fields.get("operation_label") or _route(scope)
        outcome = record.fields.get("outcome") or ("ok" if status < 400 else f"http_{status}")
        if record.transport == "http":
            self.metrics.observe(operation, outcome, seconds)
        if not logger.isEnabledFor(logging.INFO):
            return
        line = {
            "request_id": record.request_id,
            "transport": record.transport,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "outcome": outcome,
            **{key: value for key, value in record.fields.items() if key != "operation_label"},
        }
        log_info(logger, "request", line)


def _root_fields(execution_context: Any) -> list[str]:
    document = execution_context.graphql_document
    if document is None:
        return []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    name = execution_context.operation_name
    chosen = next(
        (o for o in operations if name is None or (o.name is not None and o.name.value == name)), None
    )
    if chosen is None:
        return []
    names = {
        selection.name.value
        for selection in chosen.selection_set.selections
        if isinstance(selection, FieldNode) and selection.name.value != "__typename"
    }
    return sorted(names)


def _outcome(result: Any) -> str:
    errors = getattr(result, "errors", None)
    if not errors:
        return "ok"
    code = (errors[0].extensions or {}).get("code")
    return str(code) if code else "error"


class OperationObserver(SchemaExtension):
    """Names the GraphQL operation a request ran, who ran it and how it ended, for the
    request's log line and metrics; on a websocket each operation gets its own line."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        outcome = _outcome(context.result)
        operation_type = context.operation_type.value if context.operation_type is not None else None
        fields = _root_fields(context)
        valid = outcome not in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED") and fields
        caller = getattr(context.context, "caller", None)
        details: dict[str, Any] = {
            "operation_name": context.operation_name,
            "operation_type": operation_type,
            "root_fields": fields if valid else [],
            "organization_id": caller.organization_id if caller is not None else None,
            # The actor's id only: its name may be a person's username.
            "actor_type": caller.actor.get("type") if caller is not None else None,
            "actor_id": caller.actor.get("id") if caller is not None else None,
            "outcome": outcome,
            "operation_label": f"{operation_type} {','.join(fields)}" if valid else INVALID,
        }
        record = _current.get()
        if record is not None and record.transport == "http":
            record.fields.update(details)
            return
        details.pop("operation_label")
        logger.info(
            "operation",
            extra={
                "request_id": record.request_id if record is not None else None,
                "transport": "websocket",
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                **details,
            },
        )


class _LiveState(Collector):
    """Gauges and counters read from the running app at each scrape."""

    def __init__(self) -> None:
        self.state: Any = None

    def collect(self) -> Iterable[Metric]:
        engines = [getattr(self.state, name, None) for name in ("engine", "keyed_reads", "changes_engine")]
        pools: list[Any] = [getattr(engine, "pool", None) for engine in engines]
        pools = [pool for pool in pools if hasattr(pool, "checkedout")]
        connections = GaugeMetricFamily(
            "rma_database_connections", "Database connections of this process", labels=["state"]
        )
        uow = getattr(self.state, "uow", None)
        batches = uow.read_batches if uow is not None else None
        if pools:
            # The connections the read batches and the changes keep between uses wait as idle.
            kept = uow.kept_connections if uow is not None else 0
            connections.add_metric(["in_use"], sum(pool.checkedout() for pool in pools) - kept)
            connections.add_metric(["idle"], sum(pool.checkedin() for pool in pools) + kept)
        yield connections
        hub = getattr(self.state, "hub", None)
        subscribers = GaugeMetricFamily("rma_subscribers", "Live GraphQL subscriptions of this process")
        fanned_out = CounterMetricFamily(
            "rma_events_fanned_out", "Events offered to subscribers (one per event and subscriber)"
        )
        subscribers.add_metric([], len(hub.subscriptions()) if hub is not None else 0)
        fanned_out.add_metric([], hub.fanned_out if hub is not None else 0)
        yield subscribers
        yield fanned_out
        refusals = CounterMetricFamily(
            "rma_rate_limit_refusals", "Requests refused by a rate limit", labels=["limiter"]
        )
        for name in ("token_limiter", "address_limiter"):
            limiter = getattr(self.state, name, None)
            if limiter is not None:
                refusals.add_metric([limiter.name], limiter.refused)
        yield refusals
        sent = CounterMetricFamily(
            "rma_read_batch_statements",
            "Statements that answered reads made alone by their operation (one per batch of "
            "concurrent reads of one shape)",
        )
        answered = CounterMetricFamily(
            "rma_read_batch_reads", "Reads made alone by their operation, answered by those statements"
        )
        sent.add_metric([], batches.statements if batches is not None else 0)
        answered.add_metric([], batches.reads if batches is not None else 0)
        yield sent
        yield answered
        writes = getattr(getattr(self.state, "uow", None), "write_batches", None)
        written = CounterMetricFamily(
            "rma_write_batch_statements",
            "Statements that wrote several concurrent changes of one organization together (one per batch)",
        )
        changes = CounterMetricFamily("rma_write_batch_changes", "Changes written by those statements")
        written.add_metric([], writes.statements if writes is not None else 0)
        changes.add_metric([], writes.changes if writes is not None else 0)
        yield written
        yield changes


# Where the workers of one server keep the metrics they share (prometheus-client reads it).
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """This app's Prometheus registry (one per app, so that tests can run several).

    Under ``serve --workers N`` (``PROMETHEUS_MULTIPROC_DIR`` set) the request counts and
    latencies are kept in files every worker writes, and a scrape answered by any worker
    sums them all; the live gauges stay the answering worker's own.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = MULTIPROCESS_DIRECTORY in os.environ
        if shared:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        self.requests = Counter(
            "rma_requests",
            "HTTP requests answered, by operation (GraphQL type and root fields, or route) and outcome",
            ["operation", "outcome"],
            registry=None if shared else self.registry,
        )
        self.latency = Histogram(
            "rma_request_duration_seconds",
            "Time to answer an HTTP request, by operation",
            ["operation"],
            registry=None if shared else self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.read_plans = Counter(
            "rma_read_plans",
            "Query operations a compiled read plan answered (compiled) or handed to per-field "
            "execution after trying (fallback)",
            ["outcome"],
            registry=None if shared else self.registry,
        )
        self.action_plans = Counter(
            "rma_action_plans",
            "State-machine actions run as compiled actions, by outcome: answered through a read "
            "plan (compiled), answer rebuilt by per-field execution after the change (replayed), "
            "handed to per-field execution without a change (fallback)",
            ["outcome"],
            registry=None if shared else self.registry,
        )
        self._live = _LiveState()
        self.registry.register(self._live)
        # The labelled series already used (``labels`` checks and locks on every call).
        self._observed: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._planned: dict[str, Any] = {}

    def watch(self, state: Any) -> None:
        """Read the live gauges from this app state (its engine, hub and limiters)."""
        self._live.state = state

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        series = self._observed.get((operation, outcome))
        if series is None:
            series = self._observed[(operation, outcome)] = (
                self.requests.labels(operation, outcome),
                self.latency.labels(operation),
            )
        series[0].inc()
        series[1].observe(seconds)

    def read_plan(self, outcome: str) -> None:
        series = self._planned.get(outcome)
        if series is None:
            series = self._planned[outcome] = self.read_plans.labels(outcome)
        series.inc()

    def action_plan(self, outcome: str) -> None:
        series = self._planned.get("action:" + outcome)
        if series is None:
            series = self._planned["action:" + outcome] = self.action_plans.labels(outcome)
        series.inc()

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
