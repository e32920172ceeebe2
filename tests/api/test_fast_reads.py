"""The fast path for compiled reads (api/fast_reads.py): a plain POST whose document a plan
answers skips the view, is admitted exactly once (one token check, one count against the
token's limit), and everything else passes through to the view unchanged."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.view import RmaGraphQL
from rma_graphql.service.rate_limits import Limit, RateLimiter
from tests.api.test_compiled_reads import _view
from tests.conftest import IN_PROCESS_CLIENT, GraphQLClient
from tests.helpers import create, in_one_minute_window

BY_ID = "query($id: String) { rmaOrder(id: $id) { id processingStatus lines { sku } } }"
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def view(app: Starlette) -> RmaGraphQL:
    return _view(app)


@pytest.fixture
async def planned(view: RmaGraphQL) -> AsyncIterator[list[str]]:
    """Compiled reads on (whatever the suite's setting), and the outcomes of their plans."""
    outcomes: list[str] = []
    plans = view.read_plans
    view.read_plans = ReadPlans(view.schema, outcomes.append)
    try:
        yield outcomes
    finally:
        view.read_plans = plans


@pytest.fixture
def view_runs(view: RmaGraphQL, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests the view itself ran (their queries)."""
    seen: list[str] = []
    real = RmaGraphQL.execute_single

    async def counted(self: RmaGraphQL, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["request_data"].query)
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(RmaGraphQL, "execute_single", counted)
    return seen


def _remaining(response: httpx.Response) -> int:
    return int(response.headers["x-ratelimit-remaining"])


async def test_a_compiled_read_skips_the_view_and_counts_once(
    gql: GraphQLClient, planned: list[str], view_runs: list[str]
) -> None:
    rma_id = (await create(gql))["id"]
    view_runs.clear()
    first = await gql.http.post("/graphql", json={"query": BY_ID, "variables": {"id": rma_id}})
    second = await gql.http.post("/graphql", json={"query": BY_ID, "variables": {"id": rma_id}})

    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["rmaOrder"]["id"] == rma_id
    assert planned == ["compiled", "compiled"]
    assert view_runs == []
    assert _remaining(first) - _remaining(second) == 1
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_plan_that_declines_is_answered_by_the_view_admitted_once(
    gql: GraphQLClient, planned: list[str], view_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown id: the plan declines, the view answers null; the token is verified and
    counted once for the request, not once per path."""
    view_verified: list[str] = []
    real = RmaGraphQL.caller_of

    async def verified(self: RmaGraphQL, token: str | None) -> Any:
        view_verified.append(token or "")
        return await real(self, token)

    before = await gql.http.post("/graphql", json={"query": "{ __typename }"})
    planned.clear()
    monkeypatch.setattr(RmaGraphQL, "caller_of", verified)
    declined = await gql.http.post("/graphql", json={"query": BY_ID, "variables": {"id": MISSING}})

    assert declined.status_code == 200
    assert declined.json()["data"] == {"rmaOrder": None}
    assert declined.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert planned == ["fallback"]
    assert view_runs == [BY_ID]
    assert len(view_verified) == 1
    assert _remaining(before) - _remaining(declined) == 1


async def test_without_a_token_the_view_refuses(
    app: Starlette, gql: GraphQLClient, planned: list[str], view_runs: list[str]
) -> None:
    transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
    async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as anonymous:
        refused = await anonymous.post("/graphql", json={"query": BY_ID, "variables": {"id": MISSING}})
        bad_token = await anonymous.post(
            "/graphql",
            json={"query": BY_ID, "variables": {"id": MISSING}},
            headers={"Authorization": "Bearer nope"},
        )

    for response in (refused, bad_token):
        assert response.status_code == 401
        assert response.json() == {"statusCode": 401, "message": "Unauthorized"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert planned == []
    assert view_runs == []


async def test_over_the_limit_a_compiled_read_is_refused_and_runs_nothing(
    gql: GraphQLClient, view: RmaGraphQL, planned: list[str], view_runs: list[str]
) -> None:
    rma_id = (await create(gql))["id"]
    view_runs.clear()
    limiter, view.token_limiter = view.token_limiter, RateLimiter("token", [Limit(2, 60)])
    await in_one_minute_window()
    try:
        answers = [
            await gql.http.post("/graphql", json={"query": BY_ID, "variables": {"id": rma_id}})
            for _ in range(3)
        ]
    finally:
        view.token_limiter = limiter

    assert [response.status_code for response in answers] == [200, 200, 429]
    assert answers[2].json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    assert planned == ["compiled", "compiled"]
    assert view_runs == []


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        # Not JSON: the view's refusal, in the errors shape.
        (b"{not json", {"content-type": "application/json"}, 400),
        # A batch (batching is off).
        (
            b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
            {"content-type": "application/json"},
            400,
        ),
        # Another content type.
        (b'{"query": "{ __typename }"}', {"content-type": "text/plain"}, 400),
        # A cross-origin request: CORS decides (here, for an origin not allowed).
        (
            b'{"query": "{ __typename }"}',
            {"content-type": "application/json", "origin": "https://x.test"},
            200,
        ),
    ],
)
async def test_what_the_fast_path_does_not_take_passes_through(
    gql: GraphQLClient,
    planned: list[str],
    view_runs: list[str],
    content: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    response = await gql.http.post("/graphql", content=content, headers=headers)

    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert planned == view_runs == []
    else:
        # The view ran it (and its plan answered, the view's way).
        assert view_runs == ["{ __typename }"]
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_streamed_body_and_an_oversized_one_go_the_usual_way(
    gql: GraphQLClient, planned: list[str], view_runs: list[str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __type'
        yield b'name }"}'

    streamed = await gql.http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    oversized = await gql.http.post(
        "/graphql",
        content=b'{"query": "{ __typename }", "x": "' + b"a" * (1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )

    assert streamed.status_code == 200
    assert streamed.json() == {"data": {"__typename": "Query"}}
    assert view_runs == ["{ __typename }"]
    assert oversized.status_code == 413
    assert oversized.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
