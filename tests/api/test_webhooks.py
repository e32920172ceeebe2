"""Webhooks: endpoints managed through the API, every committed event delivered signed to a
real HTTP receiver on loopback (verified with the standardwebhooks package), retried on
failure, never lost across a restart, and visible and repairable."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg.transaction
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event as sqlalchemy_event
from starlette.applications import Starlette

from rma_graphql.app import create_app
from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.db.migrate import migrate
from rma_graphql.service.organizations import create_organization
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.webhook_sender import WebhookSender
from rma_graphql.service.webhooks import secret_box
from tests.conftest import DATABASE, IN_PROCESS_CLIENT, TEST_SETTINGS, GraphQLClient, issued_token
from tests.helpers import act, create
from tests.webhook_receiver import Receiver

ENDPOINT = "id url eventTypes enabled description disabledReason previousSecretExpiresAt createdAt updatedAt"
CREATE_ENDPOINT = (
    "mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) "
    f"{{ secret endpoint {{ {ENDPOINT} }} }} }}"
)
UPDATE_ENDPOINT = (
    "mutation($id: String!, $input: WebhookEndpointUpdateInput!) "
    f"{{ webhookEndpointUpdate(id: $id, input: $input) {{ {ENDPOINT} }} }}"
)
ENDPOINTS = (
    "query($first: Int, $after: String) { webhookEndpoints(first: $first, after: $after) "
    f"{{ nodes {{ {ENDPOINT} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
DELIVERY = (
    "id endpointId eventId eventType position rmaOrderId version status nextAttemptAt completedAt "
    "attempts { httpStatus durationMs error responseBody attemptedAt }"
)
DELIVERIES = (
    "query($id: String!, $status: WebhookDeliveryStatus) { webhookDeliveries(endpointId: $id, status: $status, "
    f"first: 100) {{ nodes {{ {DELIVERY} }} }} }}"
)
HISTORY = "query($id: String) { rmaOrder(id: $id) { history { id type position version } } }"


def _settings(database_url: str, **overrides: Any) -> Settings:
    values = {
        **TEST_SETTINGS,
        "webhook_delivery": True,
        "webhook_allow_private_networks": True,
        "webhook_retry_schedule": (0.2, 0.2, 0.2),
        "webhook_timeout_seconds": 5.0,
        **overrides,
    }
    return Settings(database_url=database_url, **values)


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def _client(
    app: Starlette, organization_id: str, scopes: str | None = None
) -> AsyncIterator[GraphQLClient]:
    token = await issued_token(app, organization_id, scopes)
    transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
    async with httpx.AsyncClient(
        base_url="http://testserver",
        transport=transport,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ) as http:
        yield GraphQLClient(http)


@pytest_asyncio.fixture(loop_scope="session")
async def hooks(database_url: str) -> AsyncIterator[Starlette]:
    """An app that sends webhooks (the suite's shared app leaves them to no one)."""
    async with _serving(_settings(database_url)) as app:
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def admin(hooks: Starlette) -> AsyncIterator[GraphQLClient]:
    organization_id = await create_organization(hooks.state.uow, "Webhooks")
    async with _client(hooks, organization_id) as client:
        yield client


async def _endpoint(gql: GraphQLClient, url: str, **input: Any) -> tuple[str, str]:
    created = (await gql.data(CREATE_ENDPOINT, {"input": {"url": url, **input}}))["webhookEndpointCreate"]
    return created["endpoint"]["id"], created["secret"]


async def _history(gql: GraphQLClient, rma_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = (await gql.data(HISTORY, {"id": rma_id}))["rmaOrder"]["history"]
    return events


async def _deliveries(
    gql: GraphQLClient, endpoint_id: str, status: str | None = None
) -> list[dict[str, Any]]:
    found = await gql.data(DELIVERIES, {"id": endpoint_id, "status": status})
    nodes: list[dict[str, Any]] = found["webhookDeliveries"]["nodes"]
    return nodes


async def _lifecycle(gql: GraphQLClient) -> str:
    rma_id: str = (await create(gql))["id"]
    await act(gql, rma_id, "submit")
    await act(gql, rma_id, "accept")
    return rma_id


def _of(rma_id: str) -> Any:
    return lambda received: [r for r in received if r.json["data"]["event"]["rmaOrderId"] == rma_id]


# Endpoints


async def test_an_endpoint_is_created_with_its_secret_shown_once_changed_and_deleted(
    admin: GraphQLClient,
) -> None:
    endpoint_id, secret = await _endpoint(
        admin, "https://erp.example.com/hooks", eventTypes=["ACCEPTED"], description="ERP"
    )
    listed = (await admin.data(ENDPOINTS, {"first": 100}))["webhookEndpoints"]["nodes"]
    changed = (
        await admin.data(
            UPDATE_ENDPOINT,
            {"id": endpoint_id, "input": {"eventTypes": [], "description": None, "enabled": False}},
        )
    )["webhookEndpointUpdate"]
    deleted = await admin.data(
        "mutation($id: String!) { webhookEndpointDelete(id: $id) }", {"id": endpoint_id}
    )
    again = await admin.error(UPDATE_ENDPOINT, {"id": endpoint_id, "input": {"enabled": True}})

    assert secret.startswith("whsec_")
    assert len(secret) > 40
    mine = next(node for node in listed if node["id"] == endpoint_id)
    assert mine["url"] == "https://erp.example.com/hooks"
    assert mine["eventTypes"] == ["ACCEPTED"]
    assert mine["enabled"] is True
    assert mine["description"] == "ERP"
    assert "secret" not in str(listed)
    assert changed["eventTypes"] == []
    assert changed["description"] is None
    assert changed["enabled"] is False
    assert changed["url"] == mine["url"]
    assert deleted == {"webhookEndpointDelete": endpoint_id}
    assert again["extensions"] == {"code": "NOT_FOUND", "id": endpoint_id}


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "example.com/hooks", "https://user:pass@example.com/", "https://" + "a" * 2000],
)
async def test_a_url_that_is_not_http_is_refused_and_nothing_is_created(
    admin: GraphQLClient, url: str
) -> None:
    before = (await admin.data(ENDPOINTS, {"first": 100}))["webhookEndpoints"]["nodes"]

    error = await admin.error(CREATE_ENDPOINT, {"input": {"url": url}})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.url"
    assert (await admin.data(ENDPOINTS, {"first": 100}))["webhookEndpoints"]["nodes"] == before


async def test_endpoints_come_in_pages(admin: GraphQLClient) -> None:
    made = [(await _endpoint(admin, f"https://example.com/{n}"))[0] for n in range(3)]

    first = (await admin.data(ENDPOINTS, {"first": 2}))["webhookEndpoints"]
    rest = (await admin.data(ENDPOINTS, {"first": 100, "after": first["pageInfo"]["endCursor"]}))[
        "webhookEndpoints"
    ]

    ids = [node["id"] for node in first["nodes"] + rest["nodes"]]
    assert first["pageInfo"]["hasNextPage"] is True
    assert ids[:3] == made[::-1]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("scopes", ["view_rma_orders edit_rma_orders", "view_webhooks"])
async def test_webhooks_need_their_scopes(hooks: Starlette, admin: GraphQLClient, scopes: str) -> None:
    organization_id = await create_organization(hooks.state.uow, "Webhooks, scopes")
    async with _client(hooks, organization_id, scopes) as narrow:
        created = await narrow.error(CREATE_ENDPOINT, {"input": {"url": "https://example.com/x"}})
        listed = await narrow.execute(ENDPOINTS, {"first": 10})

    assert created["extensions"]["code"] == "FORBIDDEN"
    assert created["extensions"]["requiredScope"] == "create_webhooks"
    if "view_webhooks" in scopes:
        assert listed["data"]["webhookEndpoints"]["nodes"] == []
    else:
        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# Delivery


async def test_every_event_of_a_lifecycle_is_delivered_once_signed_with_the_rma_as_of_it(
    admin: GraphQLClient,
) -> None:
    async with Receiver() as receiver:
        endpoint_id, secret = await _endpoint(admin, receiver.url)
        only_accepted, _ = await _endpoint(
            admin, receiver.url.replace("/hooks", "/hooks?accepted"), eventTypes=["ACCEPTED"]
        )
        rma_id = await _lifecycle(admin)
        events = await _history(admin, rma_id)
        got = await receiver.wait_for(lambda r: len(_of(rma_id)(r)) >= len(events) + 1)
    mine = [r for r in _of(rma_id)(got) if r.query != "accepted"]
    accepted = [r for r in _of(rma_id)(got) if r.query == "accepted"]

    bodies = [r.verified(secret) for r in mine]
    by_id = {r.webhook_id: r for r in mine}
    assert [e["type"] for e in events] == ["CREATED", "SUBMITTED", "ACCEPTED"]
    # Once per endpoint: the ACCEPTED event went to both, the others to the first only.
    assert sorted(r.webhook_id for r in mine) == sorted(e["id"] for e in events)
    assert [r.webhook_id for r in accepted] == [events[2]["id"]]
    for event in events:
        body = by_id[event["id"]].json
        assert body["type"] == event["type"]
        assert body["data"]["event"]["position"] == event["position"]
        assert body["data"]["event"]["version"] == event["version"]
        assert body["data"]["rmaOrder"]["id"] == rma_id
        assert body["data"]["rmaOrder"]["version"] == event["version"]
    statuses = [by_id[e["id"]].json["data"]["rmaOrder"]["processingStatus"] for e in events]
    assert statuses == ["NEW", "REQUESTED", "ACCEPTED"]
    assert len(bodies) == len(mine)
    assert [b["data"]["rmaOrder"]["lines"][0]["sku"] for b in bodies] == ["SKU-RED-M"] * len(bodies)
    delivered = await _deliveries(admin, endpoint_id)
    assert {d["eventId"] for d in delivered} >= {e["id"] for e in events}
    assert {d["status"] for d in delivered} == {"SUCCEEDED"}
    assert [len(d["attempts"]) for d in delivered] == [1] * len(delivered)
    accepted_only = await _deliveries(admin, only_accepted)
    assert [d["eventType"] for d in accepted_only] == ["ACCEPTED"]


async def test_a_failing_receiver_gets_the_event_again_with_the_same_id_until_it_answers(
    admin: GraphQLClient,
) -> None:
    async def flaky(index: int) -> int:
        return 500 if index < 3 else 200

    async with Receiver(flaky) as receiver:
        endpoint_id, secret = await _endpoint(admin, receiver.url, eventTypes=["CREATED"])
        rma_id = (await create(admin))["id"]
        got = await receiver.wait_for(lambda r: len(r) >= 4)
        delivered = await _wait_for_status(admin, endpoint_id, "SUCCEEDED")

    assert {r.webhook_id for r in got} == {delivered[0]["eventId"]}
    assert [r.verified(secret)["data"]["rmaOrder"]["id"] for r in got] == [rma_id] * 4
    assert [a["httpStatus"] for a in delivered[0]["attempts"]] == [500, 500, 500, 200]
    assert delivered[0]["attempts"][0]["responseBody"] == "answer 0"


async def _wait_for_status(
    gql: GraphQLClient, endpoint_id: str, status: str, count: int = 1
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once ``count`` have the status (an outcome is recorded after
    the receiver answered)."""
    async with asyncio.timeout(30):
        while True:
            found = await _deliveries(gql, endpoint_id, status)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


async def test_after_every_attempt_failed_the_delivery_is_failed_and_the_endpoint_disabled(
    hooks: Starlette, admin: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_: int) -> int:
        return 503

    sender = hooks.state.webhooks
    monkeypatch.setattr(sender, "settings", sender.settings.model_copy(update={"webhook_disable_after": 1}))
    async with Receiver(broken) as receiver:
        endpoint_id, _ = await _endpoint(admin, receiver.url, eventTypes=["CREATED"])
        await create(admin)
        failed = await _wait_for_status(admin, endpoint_id, "FAILED")
        # Asked again, it is pending with the attempts it had.
        retried = await admin.data(
            "mutation($id: String!) { webhookDeliveryRetry(id: $id) { status attempts { httpStatus } } }",
            {"id": failed[0]["id"]},
        )
    endpoint = next(
        node
        for node in (await admin.data(ENDPOINTS, {"first": 100}))["webhookEndpoints"]["nodes"]
        if node["id"] == endpoint_id
    )

    assert [a["httpStatus"] for a in failed[0]["attempts"]] == [503, 503, 503, 503]
    assert failed[0]["nextAttemptAt"] is None
    assert retried["webhookDeliveryRetry"]["status"] == "PENDING"
    assert [a["httpStatus"] for a in retried["webhookDeliveryRetry"]["attempts"]] == [503, 503, 503, 503]
    assert endpoint["enabled"] is False
    assert endpoint["disabledReason"] == "1 consecutive deliveries failed every attempt"


async def test_a_receiver_on_a_private_address_is_refused_unless_allowed(
    hooks: Starlette, admin: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = hooks.state.webhooks
    closed = sender.settings.model_copy(update={"webhook_allow_private_networks": False})
    monkeypatch.setattr(sender, "settings", closed)
    async with Receiver() as receiver:
        endpoint_id, _ = await _endpoint(admin, receiver.url, eventTypes=["CREATED"])
        await create(admin)
        failed = await _wait_for_status(admin, endpoint_id, "FAILED")

        assert receiver.received == []
    assert "resolves to a private address (127.0.0.1)" in failed[0]["attempts"][0]["error"]
    assert failed[0]["attempts"][0]["httpStatus"] is None


async def test_a_receiver_that_never_answers_holds_back_no_other(admin: GraphQLClient) -> None:
    stuck = asyncio.Event()

    async def never(_: int) -> int:
        await stuck.wait()
        return 200

    async with Receiver(never) as slow, Receiver() as fast:
        await _endpoint(admin, slow.url, eventTypes=["CREATED"])
        await _endpoint(admin, fast.url, eventTypes=["CREATED"])
        first = (await create(admin))["id"]
        # The slow receiver holds the first delivery and will not answer.
        await slow.wait_for(lambda r: len(r) >= 1)
        later = [(await create(admin))["id"] for _ in range(3)]
        # While it hangs (a wait on it would time out), the fast one gets every event.
        got = await fast.wait_for(lambda r: {x.json["data"]["rmaOrder"]["id"] for x in r} >= {first, *later})
        held = [r.json["data"]["rmaOrder"]["id"] for r in slow.received]
        stuck.set()

    assert held[0] == first
    assert {r.json["data"]["rmaOrder"]["id"] for r in got} == {first, *later}


# Repairs


async def test_ping_replay_and_retry_send_again(admin: GraphQLClient) -> None:
    async with Receiver() as receiver:
        endpoint_id, secret = await _endpoint(admin, receiver.url, eventTypes=["CREATED", "SUBMITTED"])
        rma_id = (await create(admin))["id"]
        await act(admin, rma_id, "submit")
        events = await _history(admin, rma_id)
        await receiver.wait_for(lambda r: len(r) >= 2)
        ping = await admin.data(
            "mutation($id: String!) { webhookEndpointPing(id: $id) { id eventType } }", {"id": endpoint_id}
        )
        await receiver.wait_for(lambda r: len(r) >= 3)
        replayed = await admin.data(
            "mutation($id: String!, $from: String!) { webhookEndpointReplay(id: $id, fromPosition: $from) { id } }",
            {"id": endpoint_id, "from": events[0]["position"]},
        )
        await receiver.wait_for(lambda r: len(r) >= 5)
        first = next(d for d in await _deliveries(admin, endpoint_id) if d["eventId"] == events[0]["id"])
        await admin.data(
            "mutation($id: String!) { webhookDeliveryRetry(id: $id) { id status } }", {"id": first["id"]}
        )
        got = await receiver.wait_for(lambda r: len(r) >= 6)

    ids = [r.webhook_id for r in got]
    assert ping["webhookEndpointPing"]["eventType"] == "PING"
    assert got[2].verified(secret)["type"] == "PING"
    assert got[2].json["data"] == {"endpointId": endpoint_id}
    assert replayed["webhookEndpointReplay"]["id"] == endpoint_id
    # First attempts start in position order; a few are in flight at once, so they may
    # arrive in either order.
    assert sorted(ids[:2]) == sorted([events[0]["id"], events[1]["id"]])
    assert sorted(ids[3:5]) == sorted([events[0]["id"], events[1]["id"]])
    assert ids[5] == events[0]["id"]


async def test_after_a_rotation_both_secrets_sign_for_a_day(admin: GraphQLClient) -> None:
    async with Receiver() as receiver:
        endpoint_id, old = await _endpoint(admin, receiver.url, eventTypes=["CREATED"])
        rotated = (
            await admin.data(
                "mutation($id: String!) { webhookEndpointRotateSecret(id: $id) "
                "{ secret endpoint { previousSecretExpiresAt } } }",
                {"id": endpoint_id},
            )
        )["webhookEndpointRotateSecret"]
        await create(admin)
        got = await receiver.wait_for(lambda r: len(r) >= 1)

    assert rotated["secret"] != old
    assert rotated["endpoint"]["previousSecretExpiresAt"] is not None
    assert len(got[0].headers["webhook-signature"].split(" ")) == 2
    assert got[0].verified(old) == got[0].verified(rotated["secret"])


async def test_events_committed_while_no_sender_ran_are_delivered_once_it_starts(database_url: str) -> None:
    """A server stopped between a commit and its delivery: the next one delivers it."""
    async with Receiver() as receiver:
        async with _serving(_settings(database_url, webhook_delivery=False)) as quiet:
            organization_id = await create_organization(quiet.state.uow, "Webhooks, restart")
            async with _client(quiet, organization_id) as gql:
                endpoint_id, secret = await _endpoint(gql, receiver.url)
                rma_id = await _lifecycle(gql)
                events = await _history(gql, rma_id)
        assert receiver.received == []
        async with _serving(_settings(database_url)) as sender:
            got = await receiver.wait_for(lambda r: len(r) >= len(events))
            async with _client(sender, organization_id) as gql:
                delivered = await _wait_for_status(gql, endpoint_id, "SUCCEEDED")

    assert sorted(r.webhook_id for r in got) == sorted(e["id"] for e in events)
    assert all(r.verified(secret)["data"]["rmaOrder"]["id"] == rma_id for r in got)
    assert len(delivered) >= 1


@pytest.mark.skipif(DATABASE != "postgresql", reason="processes share the work on PostgreSQL only")
async def test_two_senders_on_postgresql_deliver_each_event_exactly_once(database_url: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(Receiver())
        one = await stack.enter_async_context(_serving(_settings(database_url)))
        two = await stack.enter_async_context(_serving(_settings(database_url)))
        organization_id = await create_organization(one.state.uow, "Webhooks, two senders")
        first = await stack.enter_async_context(_client(one, organization_id))
        second = await stack.enter_async_context(_client(two, organization_id))
        endpoint_id, _ = await _endpoint(first, receiver.url)
        created = [(await create(client))["id"] for client in (first, second) * 10]
        await receiver.wait_for(lambda r: len(r) >= len(created))
        # Once every delivery is recorded as sent, nothing is left to send again.
        await _wait_for_status(first, endpoint_id, "SUCCEEDED", count=len(created))
        got = list(receiver.received)

    ids = [r.webhook_id for r in got]
    assert len(ids) == len(set(ids)) == len(created)
    assert {r.json["data"]["rmaOrder"]["id"] for r in got} == set(created)


async def test_a_retry_asked_for_while_the_delivery_is_being_sent_still_sends_it_again(
    admin: GraphQLClient,
) -> None:
    answering = asyncio.Event()

    async def held(index: int) -> int:
        if index == 0:
            await answering.wait()
        return 200

    async with Receiver(held) as receiver:
        endpoint_id, _ = await _endpoint(admin, receiver.url, eventTypes=["CREATED"])
        await create(admin)
        await receiver.wait_for(lambda r: len(r) == 1)
        sending = (await _deliveries(admin, endpoint_id))[0]
        retried = await admin.data(
            "mutation($id: String!) { webhookDeliveryRetry(id: $id) { status } }", {"id": sending["id"]}
        )
        answering.set()
        got = await receiver.wait_for(lambda r: len(r) == 2)
        delivered = await _wait_for_status(admin, endpoint_id, "SUCCEEDED")

    assert sending["status"] == "PENDING"
    assert retried == {"webhookDeliveryRetry": {"status": "PENDING"}}
    assert got[0].webhook_id == got[1].webhook_id == sending["eventId"]
    assert [a["httpStatus"] for a in delivered[0]["attempts"]] == [200, 200]


async def test_a_commit_with_no_endpoint_to_tell_costs_the_sender_one_statement(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit wakes the sender. With no endpoint behind, its look is one statement (in
    no transaction on PostgreSQL); when the next due delivery was read less than a poll ago
    it is not read again before its time, unless a retry is asked for (``wake``)."""
    await asyncio.to_thread(migrate, scratch_url)
    settings = Settings(**{**TEST_SETTINGS, "database_url": scratch_url})
    engine = create_engine(settings)
    uow = UnitOfWork(engine)
    sender = WebhookSender(uow, settings, await secret_box(uow, settings), lambda event, rma: {})
    statements: list[str] = []

    def heard(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        # SQLite's deferred BEGIN of a read takes no lock: only the statements are counted.
        if sql != "BEGIN":
            statements.append(sql)

    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", heard)
    begun: list[object] = []
    start = asyncpg.transaction.Transaction.start

    async def counted_start(self: Any) -> None:
        begun.append(self)
        await start(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counted_start)
    try:
        sender.heard_commit()
        derived = await sender.derive()
        looked = list(statements)
        claimed, wait = await sender.claim()
        first_claim = statements[len(looked) :]
        before_again = len(statements)
        _, wait_again = await sender.claim()
        again = statements[before_again:]
        sender.wake()
        await sender.claim()
        after_wake = statements[before_again:]
    finally:
        await engine.dispose()

    assert derived == []
    assert claimed == []
    assert [sql.split()[:2] for sql in looked] == [["SELECT", "webhook_endpoint.id"]]
    assert ["webhook_delivery" in sql for sql in first_claim] == [True]
    assert again == []
    assert 0 < wait_again <= wait
    assert ["webhook_delivery" in sql for sql in after_wake] == [True]
    if DATABASE == "postgresql":
        assert begun == []
