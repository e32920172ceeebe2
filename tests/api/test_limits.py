"""Query limits, rate limits, and websockets that authenticate and end with their token."""

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rma_graphql.config import Settings
from rma_graphql.db import tables as t
from tests.api.test_subscriptions import EVENTS
from tests.conftest import GraphQLClient, Server
from tests.helpers import LOG_IN, SIGN_UP, bearer, create, in_one_minute_window, sign_up_input, snapshot
from tests.ws import LEGACY_WS, TRANSPORT_WS, SubscriptionClient, live


def _deep(depth: int) -> str:
    """``{ rmaOrder { shipments { rmaOrder { shipments … id } } } }``: ``depth`` fields deep."""
    assert depth >= 2
    body = "id"
    for level in reversed(range(depth - 2)):
        body = f"{'shipments' if level % 2 == 0 else 'rmaOrder'} {{ {body} }}"
    return f'{{ rmaOrder(id: "00000000-0000-4000-8000-000000000000") {{ {body} }} }}'


DEPTH_REFUSED = (
    "The operation is more than 12 fields deep (or nests ofType more than 16 times); the depth limit is 12."
)


async def test_depth_counts_every_field_introspection_included(http: httpx.AsyncClient) -> None:
    at_limit = (await http.post("/graphql", json={"query": _deep(12)})).json()
    over = (await http.post("/graphql", json={"query": _deep(13)})).json()
    bomb = (await http.post("/graphql", json={"query": _deep(60)})).json()
    of_types = "{ __schema { types { fields { type { " + "ofType { " * 17 + "name" + " }" * 17 + " } } } } }"
    of_type_bomb = (await http.post("/graphql", json={"query": of_types})).json()

    assert at_limit["data"] == {"rmaOrder": None}
    for body in (over, bomb, of_type_bomb):
        assert body["data"] is None
        assert [e["message"] for e in body["errors"]] == [DEPTH_REFUSED]
        assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_deep_fragments_are_counted_and_refused_before_anything_runs(
    http: httpx.AsyncClient, organization_id: str, engine: AsyncEngine
) -> None:
    # __schema > types > fields > type > fields > type ... through a fragment: thirteen deep.
    fragments = "fragment F on __Type { " + "fields { type { " * 6 + "name" + " } }" * 6 + " }"
    mutation = (
        'mutation Deep { locationCreate(input: {name: "Depot", type: WAREHOUSE}) { id } } '
        "query Q { __schema { types { ...F } } } " + fragments
    )
    before = await snapshot(engine, organization_id)

    body = (await http.post("/graphql", json={"query": mutation, "operationName": "Deep"})).json()

    assert body["data"] is None
    assert "depth limit is 12" in body["errors"][0]["message"]
    assert await snapshot(engine, organization_id) == before


async def test_graphiql_sends_the_stock_schema_query_which_fits_the_limits(http: httpx.AsyncClient) -> None:
    stock = get_introspection_query(descriptions=True, input_value_deprecation=True)
    page = (await http.get("/graphql", headers={"Accept": "text/html"})).text

    served = (
        await http.post("/graphql", json={"query": stock, "operationName": "IntrospectionQuery"})
    ).json()

    assert "errors" not in served
    assert {t["name"] for t in served["data"]["__schema"]["types"]} >= {"RmaOrderType", "Query", "Mutation"}
    # The page no longer rewrites GraphiQL's schema query.
    assert "IntrospectionQuery" not in page


async def test_alias_and_token_bombs_are_refused_before_anything_runs(
    http: httpx.AsyncClient, organization_id: str, engine: AsyncEngine
) -> None:
    create_location = 'locationCreate(input: {name: "Depot", type: WAREHOUSE}) { id }'
    at_limit = "mutation { " + " ".join(f"a{i}: {create_location}" for i in range(30)) + " }"
    aliases = "mutation { " + " ".join(f"a{i}: {create_location}" for i in range(31)) + " }"
    tokens = "mutation { " + create_location + " " + " ".join(["__typename"] * 5000) + " }"
    before = await snapshot(engine, organization_id)

    alias_body = (await http.post("/graphql", json={"query": aliases})).json()
    token_body = (await http.post("/graphql", json={"query": tokens})).json()
    unchanged = await snapshot(engine, organization_id)
    allowed = (await http.post("/graphql", json={"query": at_limit})).json()

    assert alias_body["data"] is None
    assert alias_body["errors"][0]["message"] == "31 aliases found. Allowed: 30"
    assert token_body["data"] is None
    assert token_body["errors"][0]["message"].startswith(
        "Syntax Error: Document contains more than 5000 tokens."
    )
    assert unchanged == before
    assert len(allowed["data"]) == 30


async def test_introspection_and_graphiql_can_be_switched_off(
    settings: Settings, organization_id: str
) -> None:
    async with Server(settings.replace(introspection=False, graphiql=False)) as server:
        token = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
            schema = (
                await http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
            ).json()
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            plain = (await http.post("/graphql", json={"query": "{ rmaOrders { totalCount } }"})).json()

    assert schema["data"] is None
    assert "introspection" in schema["errors"][0]["message"].lower()
    assert page.status_code == 404
    assert plain == {"data": {"rmaOrders": {"totalCount": 0}}}


async def test_rate_limit_headers_then_429_with_retry_after(settings: Settings, organization_id: str) -> None:
    limited = settings.replace(rate_limit_per_minute=5, rate_limit_per_second=1000)
    async with Server(limited) as server:
        token = await server.token(organization_id)
        other = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
            await in_one_minute_window()
            answers = [await http.post("/graphql", json={"query": "{ viewer { scopes } }"}) for _ in range(6)]
            over = await http.post(
                "/graphql",
                json={"query": 'mutation { locationCreate(input: {name: "D", type: WAREHOUSE}) { id } }'},
            )
            fresh = await http.post(
                "/graphql", json={"query": "{ viewer { scopes } }"}, headers=bearer(other)
            )
            listed = await http.post(
                "/graphql", json={"query": "{ locations { id } }"}, headers=bearer(other)
            )
        locations = len(listed.json()["data"]["locations"])

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["x-ratelimit-limit"] for a in answers[:5]] == ["5"] * 5
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(1 <= int(a.headers["x-ratelimit-reset"]) <= 60 for a in answers[:5])
    assert answers[5].json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert 1 <= int(answers[5].headers["retry-after"]) <= 60
    assert answers[5].headers["x-ratelimit-remaining"] == "0"
    assert over.status_code == 429
    assert locations == 1
    assert fresh.status_code == 200


async def test_the_per_second_limit_refuses_bursts(settings: Settings, organization_id: str) -> None:
    limited = settings.replace(rate_limit_per_minute=1000, rate_limit_per_second=3)
    async with Server(limited) as server:
        token = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
            answers = await asyncio.gather(
                *(http.post("/graphql", json={"query": "{ __typename }"}) for _ in range(8))
            )
            await asyncio.sleep(1.1)
            later = await http.post("/graphql", json={"query": "{ __typename }"})

    codes = sorted(a.status_code for a in answers)
    # A burst may straddle a second boundary: at most two windows' worth get through.
    assert 3 <= codes.count(200) <= 6
    assert codes.count(429) >= 2
    assert all(a.headers["retry-after"] == "1" for a in answers if a.status_code == 429)
    assert later.status_code == 200


async def test_sign_up_log_in_and_token_requests_are_limited_per_address(
    settings: Settings, organization_id: str, engine: AsyncEngine
) -> None:
    # Counts that servers of earlier tests shared for this address in this minute.
    async with engine.begin() as conn:
        await conn.execute(delete(t.rate_limit_counter).where(t.rate_limit_counter.c.key.like("address:%")))
    async with (
        Server(settings.replace(auth_rate_limit_per_minute=3)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        if True:
            await in_one_minute_window()
            logins = [
                await http.post(
                    "/graphql", json={"query": LOG_IN, "variables": {"username": "x", "password": "y" * 8}}
                )
                for _ in range(2)
            ]
            user = sign_up_input(organization_id)
            signed = await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": user}})
            over = await http.post(
                "/graphql",
                json={
                    "query": LOG_IN,
                    "variables": {"username": user["username"], "password": "correct horse"},
                },
            )
            token_over = await http.post("/oauth2/token", data={"grant_type": "client_credentials"})

    assert [r.status_code for r in (*logins, signed)] == [200, 200, 200]
    assert signed.json()["data"]["signUp"]["user"]["username"] == user["username"]
    assert over.status_code == 429
    assert over.headers["x-ratelimit-limit"] == "3"
    assert (token_over.status_code, token_over.json()["error"]) == (429, "slow_down")


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_websocket_without_a_good_token_is_refused(server: Server, protocol: str) -> None:
    for token in (None, "not-a-token"):
        with pytest.raises((AssertionError, ConnectionClosed)) as refused:
            await SubscriptionClient.open(server.url, protocol, token=token)
        if protocol == TRANSPORT_WS:
            assert isinstance(refused.value, ConnectionClosed)
            assert refused.value.rcvd is not None
            assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (4403, "Forbidden")
        else:
            assert "connection_error" in str(refused.value)


async def test_a_subscription_needs_the_view_scope(server: Server, organization_id: str) -> None:
    token = await server.token(organization_id, "edit_rma_orders")
    client = await SubscriptionClient.open(server.url, token=token)
    await client.subscribe(EVENTS)

    message = await client.receive()

    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["message"] == "Insufficient scope: view_rma_orders required"
    assert errors[0]["extensions"] == {"code": "FORBIDDEN", "requiredScope": "view_rma_orders"}
    assert server.app.state.hub.subscriptions() == []
    await client.close()


async def _ended(client: SubscriptionClient) -> list[dict]:
    messages = []
    while True:
        message = await client.receive(within=10)
        messages.append(message)
        if message["type"] == "complete" or (
            message.get("payload", {}) and "errors" in message.get("payload", {})
        ):
            return messages


async def test_a_subscription_ends_when_its_token_expires(settings: Settings, organization_id: str) -> None:
    async with Server(settings.replace(token_ttl_seconds=2)) as server:
        token = await server.token(organization_id)
        gql = GraphQLClient(httpx.AsyncClient(base_url=server.url, headers=bearer(token)))
        rma = await create(gql)
        client = await SubscriptionClient.open(server.url, token=token)
        await client.subscribe(EVENTS, {"rmaOrderId": rma["id"]})
        await live(server)
        await gql.data(
            'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "a") { id } }', {"id": rma["id"]}
        )
        first = await client.next()

        ending = await client.receive(within=5)

        assert first["rmaOrderEvents"]["comment"] == "a"
        assert ending["type"] == "next"
        assert ending["payload"]["errors"][0]["extensions"] == {"code": "UNAUTHORIZED"}
        assert ending["payload"]["errors"][0]["message"] == "The subscription's token expired or was revoked."
        assert (await client.receive())["type"] == "complete"
        assert server.app.state.hub.subscriptions() == []
        await client.close()
        await gql.http.aclose()


async def test_a_subscription_ends_when_its_token_is_logged_out(
    settings: Settings, organization_id: str
) -> None:
    async with Server(settings.replace(token_check_seconds=0.2)) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            user = sign_up_input(organization_id)
            token = (
                await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": user}})
            ).json()["data"]["signUp"]["token"]
            client = await SubscriptionClient.open(server.url, token=token)
            await client.subscribe(EVENTS)
            await live(server)

            logged_out = await http.post(
                "/graphql", json={"query": "mutation { logOut }"}, headers=bearer(token)
            )
            ending = await client.receive(within=5)

        assert logged_out.json() == {"data": {"logOut": True}}
        assert ending["payload"]["errors"][0]["extensions"] == {"code": "UNAUTHORIZED"}
        assert (await client.receive())["type"] == "complete"
        assert server.app.state.hub.subscriptions() == []
        await client.close()


def test_the_graphiql_page_puts_a_demo_token_in_the_editor_only() -> None:
    from rma_graphql.api.view import graphiql_page

    page = graphiql_page({"Authorization": "Bearer demo"})
    fetcher = re.search(r"GraphiQL\.createFetcher\(([^)]*)\)", page)

    assert fetcher is not None
    assert "Bearer" not in fetcher.group(1)
    assert re.search(r"shouldPersistHeaders: false", page)
    assert '\\"Authorization\\": \\"Bearer demo\\"' in page
    assert "shouldPersistHeaders: true" in graphiql_page()
    assert "Bearer" not in graphiql_page()
    assert "rmaOrders(first: 10)" in page


async def test_graphiql_hands_a_demo_token_only_to_local_unproxied_browsers(
    settings: Settings, tmp_path: Path
) -> None:
    if not settings.is_sqlite:
        pytest.skip("the demo token is offered on the embedded database only")
    from rma_graphql.db.engine import create_engine
    from rma_graphql.db.migrate import migrate
    from rma_graphql.service.accounts import Accounts
    from rma_graphql.service.organizations import demo_credentials, ensure_demo_organization
    from rma_graphql.service.unit_of_work import UnitOfWork

    # A database of its own: the demo organization is the only one there.
    settings = settings.replace(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    await asyncio.to_thread(migrate, settings.database_url)
    engine = create_engine(settings)
    try:
        uow = UnitOfWork(engine)
        organization_id = await ensure_demo_organization(uow)
        await demo_credentials(uow, organization_id, await Accounts.from_settings(uow, settings))
    finally:
        await engine.dispose()
    async with Server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        local = (await http.get("/graphql", headers={"Accept": "text/html"})).text
        proxied = (
            await http.get("/graphql", headers={"Accept": "text/html", "X-Forwarded-For": "203.0.113.9"})
        ).text

    token = re.search(r"Bearer ([A-Za-z0-9._-]+)", local)
    assert token is not None
    assert "Bearer" not in proxied


async def test_allowed_origins_open_cors_and_websockets_to_those_origins_only(
    settings: Settings, organization_id: str
) -> None:
    shop, stranger = "https://shop.example", "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with Server(settings.replace(allowed_origins=(shop,))) as server:
        token = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url) as http:
            allowed = await http.options("/graphql", headers={"Origin": shop, **preflight})
            refused = await http.options("/graphql", headers={"Origin": stranger, **preflight})
            answered = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"Origin": shop, **bearer(token)}
            )
        socket = await SubscriptionClient.open(server.url, token=token, origin=shop)
        with pytest.raises(InvalidStatus) as handshake:
            await SubscriptionClient.open(server.url, token=token, origin=stranger)

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == shop
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert answered.headers["access-control-allow-origin"] == shop
    assert handshake.value.response.status_code == 403
    await socket.close()
