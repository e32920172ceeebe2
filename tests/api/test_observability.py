"""What operators see: a request id on every answer, one log line per request (JSON, with
no personal data or secrets), Prometheus metrics at /metrics, traces when configured, and
settings refused with the variable's name."""

import asyncio
import gc
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from rma_graphql import cli
from rma_graphql.app import YOUNG_GENERATION_THRESHOLD, create_app
from rma_graphql.config import Settings
from rma_graphql.logs import configure_logging
from tests.conftest import GraphQLClient
from tests.helpers import CREATE, LOG_IN, SIGN_UP, bearer, create, rma_input, sign_up_input

REQUESTS = "rma_graphql.requests"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await http.get("/metrics", headers={"Authorization": ""})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return _samples(answer.text)


def _requests(operation: str, outcome: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("rma_requests_total", (("operation", operation), ("outcome", outcome)))


async def test_metrics_count_each_operation_by_outcome_without_a_token(gql: GraphQLClient) -> None:
    before = await _scrape(gql.http)

    await create(gql)
    await create(gql)
    refused = await gql.error(CREATE, {"input": rma_input(lines=[])})
    await gql.data("{ viewer { organizationId } }")
    after = await _scrape(gql.http)

    created = _requests("mutation rmaOrderCreate", "ok")
    refused_key = _requests("mutation rmaOrderCreate", refused["extensions"]["code"])
    viewer = _requests("query viewer", "ok")
    assert after[created] - before.get(created, 0) == 2
    assert after[refused_key] - before.get(refused_key, 0) == 1
    assert after[viewer] - before.get(viewer, 0) == 1
    latency = ("rma_request_duration_seconds_count", (("operation", "mutation rmaOrderCreate"),))
    assert after[latency] - before.get(latency, 0) == 3
    assert after[("rma_subscribers", ())] == 0
    # Between requests every connection is back in the pool, once a background task's
    # statement has ended (on PostgreSQL the rate limiters share their counts every second,
    # each time on a connection of their own; this app runs no senders).
    in_use = ("rma_database_connections", (("state", "in_use"),))
    async with asyncio.timeout(10):
        while after[in_use] != 0:
            await asyncio.sleep(0.05)
            after = await _scrape(gql.http)
    assert after[in_use] == 0
    assert after[("rma_database_connections", (("state", "idle"),))] >= 1
    assert ("rma_rate_limit_refusals_total", (("limiter", "token"),)) in after
    assert ("rma_events_fanned_out_total", ()) in after


async def test_documents_that_do_not_validate_are_one_label_whatever_their_fields(gql: GraphQLClient) -> None:
    before = await _scrape(gql.http)

    for name in ("a", "b", "c"):
        body = await gql.execute(f"{{ {name}NoSuchField }}")
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    after = await _scrape(gql.http)

    invalid = _requests("invalid", "GRAPHQL_VALIDATION_FAILED")
    assert after[invalid] - before.get(invalid, 0) == 3
    assert not any("NoSuchField" in str(key) for key in after)


async def test_every_answer_carries_a_request_id_and_a_good_one_given_is_kept(gql: GraphQLClient) -> None:
    generated = await gql.http.post("/graphql", json={"query": "{ viewer { organizationId } }"})
    kept = await gql.http.post(
        "/graphql", json={"query": "{ viewer { organizationId } }"}, headers={"X-Request-Id": "shop-req.42"}
    )
    replaced = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { organizationId } }"},
        headers={"X-Request-Id": "bad id; with spaces"},
    )
    health = await gql.http.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "shop-req.42"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", health.headers["x-request-id"])
    assert len({generated.headers["x-request-id"], replaced.headers["x-request-id"]}) == 2


def _request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == REQUESTS]


async def test_one_log_line_per_request_names_its_operation_caller_and_outcome(
    gql: GraphQLClient, organization_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REQUESTS)

    created = await gql.http.post(
        "/graphql", json={"query": CREATE, "variables": {"input": rma_input()}, "operationName": "Create"}
    )
    refused = await gql.http.post(
        "/graphql", json={"query": 'mutation { rmaOrderAccept(id: "nope") { id } }'}
    )

    first, second = _request_records(caplog)
    assert first.request_id == created.headers["x-request-id"]  # type: ignore[attr-defined]
    assert first.operation_name == "Create"  # type: ignore[attr-defined]
    assert first.operation_type == "mutation"  # type: ignore[attr-defined]
    assert first.root_fields == ["rmaOrderCreate"]  # type: ignore[attr-defined]
    assert first.organization_id == organization_id  # type: ignore[attr-defined]
    assert first.actor_type == "API_CLIENT"  # type: ignore[attr-defined]
    assert first.outcome == "ok"  # type: ignore[attr-defined]
    assert first.status == 200  # type: ignore[attr-defined]
    assert first.duration_ms > 0  # type: ignore[attr-defined]
    assert second.request_id == refused.headers["x-request-id"]  # type: ignore[attr-defined]
    assert second.outcome == refused.json()["errors"][0]["extensions"]["code"]  # type: ignore[attr-defined]


async def test_a_masked_internal_error_names_the_request_id_its_log_lines_carry(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)

    def broken(cls: Any, actor: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("rma_graphql.api.schema.RmaActor.from_json", classmethod(broken))

    answer = await gql.http.post("/graphql", json={"query": "{ viewer { organizationId } }"})

    request_id = answer.headers["x-request-id"]
    [error] = answer.json()["errors"]
    assert error["message"] == f"Internal server error (reference {request_id})."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    [logged_error] = [r for r in caplog.records if r.name == "rma_graphql.errors"]
    assert request_id in logged_error.getMessage()
    [line] = _request_records(caplog)
    assert (line.request_id, line.outcome) == (request_id, "INTERNAL_SERVER_ERROR")  # type: ignore[attr-defined]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The server's own log handler (JSON lines), writing to a buffer."""
    root = logging.getLogger()
    level = root.level
    configure_logging("json", "debug")
    [handler] = [h for h in root.handlers if h.get_name() == "rma_graphql"]
    buffer = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


async def test_log_lines_are_json_with_the_request_id_and_hold_no_personal_data_or_secret(
    app: Starlette, gql: GraphQLClient, organization_id: str, json_log: io.StringIO
) -> None:
    password = "Tr0ub4dor&3-horse-battery"
    user = sign_up_input(organization_id, password=password, email="grace.hopper@example.com")
    http = gql.http

    signed = await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": user}})
    logged = await http.post(
        "/graphql", json={"query": LOG_IN, "variables": {"username": user["username"], "password": password}}
    )
    token = logged.json()["data"]["logIn"]["token"]
    await http.post(
        "/graphql",
        json={
            "query": CREATE,
            "variables": {
                "input": rma_input(sender={"fullname": "Grace Hopper", "email": "grace.hopper@example.com"})
            },
        },
    )
    await http.post("/graphql", json={"query": "mutation { logOut }"}, headers=bearer(token))

    lines = [orjson.loads(line) for line in json_log.getvalue().splitlines()]
    requests = [line for line in lines if line.get("logger") == REQUESTS]
    assert [line["request_id"] for line in requests[:2]] == [
        signed.headers["x-request-id"],
        logged.headers["x-request-id"],
    ]
    assert all({"timestamp", "level", "event", "request_id", "outcome"} <= line.keys() for line in requests)
    text = json_log.getvalue()
    for secret in (password, token, user["username"], "grace.hopper@example.com", "Grace Hopper"):
        assert secret not in text


async def test_traces_have_the_request_and_the_graphql_operation_without_argument_values(
    settings: Settings, organization_id: str
) -> None:
    exporter = InMemorySpanExporter()
    traced = create_app(settings, span_exporter=exporter)
    async with traced.router.lifespan_context(traced):
        from tests.conftest import issued_token

        token = await issued_token(traced, organization_id)
        transport = httpx.ASGITransport(app=traced)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await http.post(
                "/graphql",
                json={
                    "query": "query($id: String) { rmaOrder(id: $id) { id } }",
                    "variables": {"id": "secret-id"},
                },
                headers=bearer(token),
            )

    assert answer.status_code == 200
    names = [span.name for span in exporter.get_finished_spans()]
    assert any(name.startswith("POST /graphql") for name in names), names
    assert any("GraphQL" in name for name in names), names
    attributes = repr([dict(span.attributes or {}) for span in exporter.get_finished_spans()])
    assert "secret-id" not in attributes


def test_a_wrong_setting_stops_the_command_with_the_variable_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RMA_TOKEN_SECRET", "too-short")
    monkeypatch.setenv("RMA_RATE_LIMIT_PER_MINUTE", "many")

    code = cli.main(["demo"])

    errors = capsys.readouterr().err.splitlines()
    assert code == 2
    assert "rma-graphql: RMA_TOKEN_SECRET: String should have at least 32 characters" in errors
    assert any(line.startswith("rma-graphql: RMA_RATE_LIMIT_PER_MINUTE: ") for line in errors)


def test_settings_read_each_variable_once_with_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMA_ALLOWED_ORIGINS", "https://shop.example, https://admin.example")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("RMA_GRAPHIQL", "false")

    settings = Settings.from_environment()

    assert settings.allowed_origins == ("https://shop.example", "https://admin.example")
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.graphiql is False
    assert settings.token_ttl_seconds == Settings.model_fields["token_ttl_seconds"].default == 3600
    assert settings.replace(token_ttl_seconds=5).token_ttl_seconds == 5


async def test_metrics_count_compiled_and_fallback_reads(app: Starlette, gql: GraphQLClient) -> None:
    """Compiled reads are counted by outcome (a malformed id falls back to per-field execution)."""
    if not Settings().compiled_reads:
        pytest.skip("the suite runs with compiled reads off")
    rma_id = (await create(gql))["id"]
    by_id = "query($id: String) { rmaOrder(id: $id) { id } }"

    async def counted(outcome: str) -> float:
        text = (await gql.http.get("/metrics")).text
        line = next(
            (x for x in text.splitlines() if x.startswith(f'rma_read_plans_total{{outcome="{outcome}"}}')),
            None,
        )
        return float(line.split()[-1]) if line else 0.0

    before = (await counted("compiled"), await counted("fallback"))
    assert (await gql.data(by_id, {"id": rma_id}))["rmaOrder"]["id"] == rma_id
    await gql.error(by_id, {"id": "not-a-uuid"})
    assert (await counted("compiled"), await counted("fallback")) == (before[0] + 1, before[1] + 1)


async def test_compiled_actions_name_their_operation_and_are_counted(
    gql: GraphQLClient, organization_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A compiled action's log line names the mutation as strawberry's would, with the action
    plan's outcome; a refused one says why it went to strawberry; /metrics counts both."""
    if not Settings().compiled_reads:
        pytest.skip("the suite runs with compiled reads off")
    rma_id = (await create(gql))["id"]
    submit = "mutation Go($id: String!) { rmaOrderSubmit(id: $id) { id version } }"

    async def counted(outcome: str) -> float:
        text = (await gql.http.get("/metrics")).text
        prefix = f'rma_action_plans_total{{outcome="{outcome}"}}'
        line = next((x for x in text.splitlines() if x.startswith(prefix)), None)
        return float(line.split()[-1]) if line else 0.0

    before = (await counted("compiled"), await counted("fallback"))
    caplog.set_level(logging.INFO, logger=REQUESTS)
    done = await gql.http.post("/graphql", json={"query": submit, "variables": {"id": rma_id}})
    again = await gql.http.post("/graphql", json={"query": submit, "variables": {"id": rma_id}})

    assert done.json()["data"]["rmaOrderSubmit"] == {"id": rma_id, "version": 2}
    assert again.json()["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION"
    first, second = _request_records(caplog)
    for record in (first, second):
        assert record.operation_name == "Go"  # type: ignore[attr-defined]
        assert record.operation_type == "mutation"  # type: ignore[attr-defined]
        assert record.root_fields == ["rmaOrderSubmit"]  # type: ignore[attr-defined]
        assert record.organization_id == organization_id  # type: ignore[attr-defined]
    assert (first.action_plan, first.outcome) == ("compiled", "ok")  # type: ignore[attr-defined]
    assert second.action_plan == "fallback"  # type: ignore[attr-defined]
    assert second.action_plan_fallback == "refused: INVALID_TRANSITION"  # type: ignore[attr-defined]
    assert second.outcome == "INVALID_TRANSITION"  # type: ignore[attr-defined]
    assert (await counted("compiled"), await counted("fallback")) == (before[0] + 1, before[1] + 1)


async def test_a_started_app_freezes_what_exists_and_collects_young_objects_less_often(
    app: Starlette,
) -> None:
    """Once an app has started, its process's startup objects are out of the collector's
    sight and the young generation waits for YOUNG_GENERATION_THRESHOLD objects (not 700)."""
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD > 700
