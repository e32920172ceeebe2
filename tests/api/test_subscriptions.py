"""Subscriptions over a real websocket against the real server (CONTRACT §7)."""

import asyncio
import contextlib
import secrets
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from rma_graphql.api.subscriptions import REVISIONS_PER_READ, SLOW_SUBSCRIBER_CLOSE_CODE
from rma_graphql.config import Settings
from rma_graphql.db import event_reads
from tests.conftest import GraphQLClient, Server
from tests.helpers import act, create, get
from tests.ws import LEGACY_WS, TRANSPORT_WS, SubscriptionClient, live

EVENT_FIELDS = """
  id rmaOrderId sequence position type version comment occurredAt
  changes { dimension from to } actor { type id name }
"""
EVENTS = f"""
subscription Events($rmaOrderId: String, $after: String, $types: [RmaOrderEventType!]) {{
  rmaOrderEvents(rmaOrderId: $rmaOrderId, after: $after, types: $types) {{ {EVENT_FIELDS} }}
}}
"""
UPDATED = """
subscription Updated($id: String!) {
  rmaOrderUpdated(id: $id) {
    id version processingStatus deliveryStatus financialStatus fulfillmentStatus
    lines { sku lineState } financialResolutions { status amount }
    comments { text visibility }
    history { sequence type version }
  }
}
"""
FEED = f"""
query Feed($after: String, $first: Int, $rmaOrderId: String, $types: [RmaOrderEventType!]) {{
  rmaOrderEvents(after: $after, first: $first, rmaOrderId: $rmaOrderId, types: $types) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {EVENT_FIELDS} }} }}
  }}
}}
"""
COMMENT = """
mutation Comment($id: String!, $text: String!, $visibility: RmaCommentVisibility) {
  rmaOrderCommentAdd(id: $id, text: $text, visibility: $visibility) { id version }
}
"""
LIFECYCLE = ["submit", "accept", "startFulfillment", "completeProcessing"]


async def feed_position(gql: GraphQLClient) -> str | None:
    page = (await gql.data(FEED, {"first": 1000}))["rmaOrderEvents"]
    return page["pageInfo"]["endCursor"]  # type: ignore[no-any-return]


def _history_as_events(rma: dict[str, Any]) -> list[tuple[int, str, int]]:
    return [(e["sequence"], e["type"], e["version"]) for e in rma["history"]]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_subscriber_sees_every_event_of_a_lifecycle_in_order(
    server: Server, gql: GraphQLClient, protocol: str
) -> None:
    client = await SubscriptionClient.open(server.url, protocol, token=gql.token)
    await client.subscribe(EVENTS)
    await live(server)

    rma = await create(gql, autoGenerateFinancialResolution=True, autoExecuteFinancialResolution=True)
    for action in LIFECYCLE:
        rma = await act(gql, rma["id"], action)
    received = [e["rmaOrderEvents"] for e in await client.collect(len(rma["history"]))]

    assert [e["type"] for e in received] == [
        "CREATED",
        "SUBMITTED",
        "ACCEPTED",
        "FULFILLMENT_STARTED",
        "PROCESSING_COMPLETED",
        "FINANCIAL_RESOLUTION_CREATED",
        "FINANCIAL_RESOLUTION_EXECUTED",
    ]
    assert [e["sequence"] for e in received] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["version"] for e in received] == [1, 2, 3, 4, 5, 5, 5]
    assert [int(e["position"]) for e in received] == list(range(1, 8))
    assert {e["rmaOrderId"] for e in received} == {rma["id"]}
    by_sequence = {e["sequence"]: e for e in rma["history"]}
    for event in received:
        stored = by_sequence[event["sequence"]]
        assert (event["type"], event["changes"], event["actor"]) == (
            stored["type"],
            stored["changes"],
            stored["actor"],
        )
    assert received[0]["changes"] == [
        {"dimension": "PROCESSING", "from": None, "to": "NEW"},
        {"dimension": "DELIVERY", "from": None, "to": "PENDING"},
        {"dimension": "FINANCIAL", "from": None, "to": "PENDING"},
        {"dimension": "FULFILLMENT", "from": None, "to": "PENDING"},
    ]
    assert received[3]["changes"] == [
        {"dimension": "PROCESSING", "from": "ACCEPTED", "to": "PROCESSING"},
        {"dimension": "DELIVERY", "from": "PENDING", "to": "DELIVERED"},
        {"dimension": "FULFILLMENT", "from": "PENDING", "to": "IN_PROGRESS"},
    ]
    assert [e["actor"]["type"] for e in received[-2:]] == ["SYSTEM", "SYSTEM"]
    await client.close()


async def test_types_and_rma_filters_apply_to_live_events(server: Server, gql: GraphQLClient) -> None:
    first = await create(gql)
    second = await create(gql)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(EVENTS, {"rmaOrderId": second["id"], "types": ["SUBMITTED", "ACCEPTED"]})
    await live(server)

    for rma in (first, second):
        await act(gql, rma["id"], "submit")
        await act(gql, rma["id"], "accept")
        await act(gql, rma["id"], "hold")
    received = [e["rmaOrderEvents"] for e in await client.collect(2)]

    assert [(e["rmaOrderId"], e["type"]) for e in received] == [
        (second["id"], "SUBMITTED"),
        (second["id"], "ACCEPTED"),
    ]
    with pytest.raises(TimeoutError):
        await client.next(within=0.5)
    await client.close()


async def test_after_replays_exactly_the_missed_events_then_goes_live(
    server: Server, gql: GraphQLClient
) -> None:
    rma = await create(gql)
    await act(gql, rma["id"], "submit")
    seen = await feed_position(gql)
    await act(gql, rma["id"], "accept")
    await act(gql, rma["id"], "hold")

    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(EVENTS, {"after": seen})
    replayed = [e["rmaOrderEvents"]["type"] for e in await client.collect(2)]
    await live(server)
    await act(gql, rma["id"], "resume")
    live_event = (await client.next())["rmaOrderEvents"]

    assert replayed == ["ACCEPTED", "HELD"]
    assert (live_event["type"], live_event["sequence"], live_event["version"]) == ("RESUMED", 5, 5)
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await client.close()


async def test_replay_races_with_mutations_without_gap_or_duplicate(
    settings: Settings, organization_id: str
) -> None:
    # Replays of a few pages each: the writer races several page reads and the switch to live.
    page = 20
    async with (
        Server(settings.replace(subscription_replay_page=page)) as server,
        await server.client(organization_id) as http,
    ):
        await _replay_races(server, GraphQLClient(http), page)


async def _replay_races(server: Server, gql: GraphQLClient, page: int) -> None:
    rmas = [await create(gql) for _ in range(3)]
    for rma in rmas:
        await act(gql, rma["id"], "submit")
    comments = 25
    # The first round's backlog takes more than two replay pages.
    backlogs = [2 * page + 5, 25, 25, 25, 25, 25]

    for round_number, backlog in enumerate(backlogs):
        start = await feed_position(gql)
        for i in range(backlog):
            await gql.data(COMMENT, {"id": rmas[i % 3]["id"], "text": f"backlog {round_number}.{i}"})

        async def write(round_number: int = round_number) -> None:
            for i in range(comments):
                await gql.data(COMMENT, {"id": rmas[i % 3]["id"], "text": f"live {round_number}.{i}"})

        # The writer commits while the subscriber replays and switches to live.
        writer = asyncio.create_task(write())
        client = await SubscriptionClient.open(server.url, token=gql.token)
        await client.subscribe(EVENTS, {"after": start})
        received = [e["rmaOrderEvents"] for e in await client.collect(backlog + comments)]
        await writer

        positions = [int(e["position"]) for e in received]
        assert positions == list(range(int(start) + 1, int(start) + 1 + backlog + comments))
        assert [e["comment"] for e in received] == [f"backlog {round_number}.{i}" for i in range(backlog)] + [
            f"live {round_number}.{i}" for i in range(comments)
        ]
        with pytest.raises(TimeoutError):
            await client.next(within=0.2)
        await client.close()


async def test_rma_order_updated_sends_each_version_as_it_was(server: Server, gql: GraphQLClient) -> None:
    rma = await create(gql, autoGenerateFinancialResolution=True, autoExecuteFinancialResolution=True)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED, {"id": rma["id"]})
    await live(server)

    # Fired back to back: the subscriber reads each version after later ones committed.
    for action in LIFECYCLE:
        await act(gql, rma["id"], action)
    await gql.data(COMMENT, {"id": rma["id"], "text": "all done", "visibility": "CUSTOMER"})
    payloads = [p["rmaOrderUpdated"] for p in await client.collect(5)]

    assert [p["version"] for p in payloads] == [2, 3, 4, 5, 6]
    assert [p["processingStatus"] for p in payloads] == [
        "REQUESTED",
        "ACCEPTED",
        "PROCESSING",
        "COMPLETE",
        "COMPLETE",
    ]
    assert [p["financialStatus"] for p in payloads] == [
        "PENDING",
        "PENDING",
        "PENDING",
        "REFUNDED",
        "REFUNDED",
    ]
    assert [line["lineState"] for line in payloads[2]["lines"]] == ["PENDING", "PENDING"]
    assert [line["lineState"] for line in payloads[3]["lines"]] == ["FULFILLED", "FULFILLED"]
    assert payloads[2]["financialResolutions"] == []
    assert [r["status"] for r in payloads[3]["financialResolutions"]] == ["EXECUTED"]
    assert [len(p["history"]) for p in payloads] == [2, 3, 4, 7, 8]
    assert payloads[3]["comments"] == []
    assert payloads[4]["comments"] == [{"text": "all done", "visibility": "CUSTOMER"}]
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await client.close()


async def test_rma_order_updated_sends_nothing_when_it_starts(server: Server, gql: GraphQLClient) -> None:
    rma = await create(gql)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED, {"id": rma["id"]})
    await live(server)

    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await act(gql, rma["id"], "submit")

    assert (await client.next())["rmaOrderUpdated"]["version"] == 2
    await client.close()


UPDATED_AFTER = """
subscription Updated($id: String!, $afterVersion: Int) {
  rmaOrderUpdated(id: $id, afterVersion: $afterVersion) { version processingStatus comments { text } }
}
"""


async def test_rma_order_updated_after_a_version_sends_the_later_ones_then_goes_live(
    server: Server, gql: GraphQLClient
) -> None:
    """A page that read version 1 and subscribes after changes were made meanwhile gets
    them, each as of its version, then the live ones: no gap, no duplicate."""
    rma = await create(gql)
    await act(gql, rma["id"], "submit")  # version 2
    await gql.data(COMMENT, {"id": rma["id"], "text": "meanwhile"})  # version 3
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED_AFTER, {"id": rma["id"], "afterVersion": 1})
    replayed = [p["rmaOrderUpdated"] for p in await client.collect(2)]
    await live(server)
    await gql.data(COMMENT, {"id": rma["id"], "text": "live"})  # version 4

    assert replayed == [
        {"version": 2, "processingStatus": "REQUESTED", "comments": []},
        {"version": 3, "processingStatus": "REQUESTED", "comments": [{"text": "meanwhile"}]},
    ]
    assert (await client.next())["rmaOrderUpdated"] == {
        "version": 4,
        "processingStatus": "REQUESTED",
        "comments": [{"text": "meanwhile"}, {"text": "live"}],
    }
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await client.close()


@pytest.mark.parametrize(("after", "first"), [(0, 1), (2, None)])
async def test_rma_order_updated_after_a_version_starts_where_it_says(
    server: Server, gql: GraphQLClient, after: int, first: int | None
) -> None:
    """0 sends every version; the version the RMA order is at, nothing until a change."""
    rma = await create(gql)
    await act(gql, rma["id"], "submit")  # version 2
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED_AFTER, {"id": rma["id"], "afterVersion": after})
    if first is not None:
        versions = [p["rmaOrderUpdated"]["version"] for p in await client.collect(2)]
        assert versions == [first, first + 1]
    await live(server)
    with pytest.raises(TimeoutError):
        await client.next(within=0.3)
    await gql.data(COMMENT, {"id": rma["id"], "text": "next"})  # version 3

    assert (await client.next())["rmaOrderUpdated"]["version"] == 3
    await client.close()


async def test_rma_order_updated_replays_versions_with_one_read_of_their_revisions(
    server: Server, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five versions missed are read in one statement, each sent as of its version; a live
    change then reads its own."""
    reads: list[tuple[int, int]] = []
    read = event_reads.revisions_from

    async def counted(conn: Any, rma_id: str, first: int, count: int) -> Any:
        reads.append((first, count))
        return await read(conn, rma_id, first, count)

    rma = await create(gql)
    await act(gql, rma["id"], "submit")  # version 2
    for n in range(3, 7):
        await gql.data(COMMENT, {"id": rma["id"], "text": f"note {n}"})
    # Counted from here: a mutation's answer may read its own revision the same way.
    monkeypatch.setattr(event_reads, "revisions_from", counted)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED_AFTER, {"id": rma["id"], "afterVersion": 1})
    replayed = [p["rmaOrderUpdated"] for p in await client.collect(5)]
    await live(server)
    assert reads == [(2, REVISIONS_PER_READ)]
    await gql.data(COMMENT, {"id": rma["id"], "text": "live"})  # version 7

    assert [(p["version"], len(p["comments"])) for p in replayed] == [(2, 0), (3, 1), (4, 2), (5, 3), (6, 4)]
    assert replayed[-1]["comments"][-1] == {"text": "note 6"}
    assert (await client.next())["rmaOrderUpdated"]["version"] == 7
    assert reads == [(2, REVISIONS_PER_READ), (7, REVISIONS_PER_READ)]
    await client.close()


@pytest.mark.parametrize(
    ("after", "message"),
    [(-1, "A version is 0 or more"), (3, "The RMA order is at version 2: there is no version 3.")],
)
async def test_rma_order_updated_refuses_a_version_it_cannot_have_and_subscribes_nothing(
    server: Server, gql: GraphQLClient, after: int, message: str
) -> None:
    rma = await create(gql)
    await act(gql, rma["id"], "submit")  # version 2
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(UPDATED_AFTER, {"id": rma["id"], "afterVersion": after})

    answer = await client.receive()

    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "afterVersion"}
    assert errors[0]["message"].startswith(message)
    assert server.app.state.hub.subscriptions() == []
    await client.close()


async def test_one_socket_keeps_no_stale_loader_cache_between_events(
    server: Server, gql: GraphQLClient
) -> None:
    rma = await create(gql)
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(
        "subscription U($id: String!) { rmaOrderUpdated(id: $id) { version comments { text } } }",
        {"id": rma["id"]},
    )
    await live(server)

    await gql.data(COMMENT, {"id": rma["id"], "text": "first"})
    await gql.data(COMMENT, {"id": rma["id"], "text": "second"})
    payloads = [p["rmaOrderUpdated"] for p in await client.collect(2)]

    assert payloads == [
        {"version": 2, "comments": [{"text": "first"}]},
        {"version": 3, "comments": [{"text": "first"}, {"text": "second"}]},
    ]
    await client.close()


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"after": "not-a-position"}, "BAD_USER_INPUT", "after"),
        ({"rmaOrderId": "nope"}, "BAD_USER_INPUT", "rmaOrderId"),
        ({"rmaOrderId": "6f0b5c1e-0000-4000-8000-000000000000"}, "NOT_FOUND", None),
    ],
)
async def test_a_refused_subscription_names_its_cause(
    server: Server, admin_token: str, variables: dict[str, Any], code: str, field: str | None
) -> None:
    client = await SubscriptionClient.open(server.url, token=admin_token)
    await client.subscribe(EVENTS, variables)

    message = await client.receive()

    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == code
    assert errors[0]["extensions"].get("field") == field
    assert server.app.state.hub.subscriptions() == []
    await client.close()


async def test_history_is_gapless_and_matches_versions_after_a_lifecycle(gql: GraphQLClient) -> None:
    rma = await create(gql, autoGenerateFinancialResolution=True, autoExecuteFinancialResolution=True)
    for action in LIFECYCLE:
        await act(gql, rma["id"], action)
    await gql.data(COMMENT, {"id": rma["id"], "text": "closing note"})

    rma = await get(gql, rma["id"])

    assert _history_as_events(rma) == [
        (1, "CREATED", 1),
        (2, "SUBMITTED", 2),
        (3, "ACCEPTED", 3),
        (4, "FULFILLMENT_STARTED", 4),
        (5, "PROCESSING_COMPLETED", 5),
        (6, "FINANCIAL_RESOLUTION_CREATED", 5),
        (7, "FINANCIAL_RESOLUTION_EXECUTED", 5),
        (8, "COMMENT_ADDED", 6),
    ]
    assert rma["version"] == 6


async def _read_until_closed(client: SubscriptionClient) -> None:
    while True:
        await client.receive()


async def test_a_subscriber_that_never_reads_is_disconnected_with_a_bounded_queue(
    settings: Settings, organization_id: str
) -> None:
    limit = 4
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(Server(settings.replace(subscription_queue_limit=limit)))
        headers = {"Authorization": f"Bearer {await server.token(organization_id)}"}
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers)
        )
        gql = GraphQLClient(http)
        rma = await create(gql)
        # Thirty aliases of a 10,000-character comment: every event is about 300 kB.
        aliases = " ".join(f"c{i}: comment" for i in range(30))
        client = await SubscriptionClient.open(
            server.url, receive_buffer=4096, max_queue=1, compression=None, token=gql.token
        )
        await client.subscribe(f"subscription {{ rmaOrderEvents {{ position {aliases} }} }}")
        await live(server)
        subscription = server.app.state.hub.subscriptions()[0]

        sent = 0
        while not subscription.overflowed and sent < 100:
            await gql.data(COMMENT, {"id": rma["id"], "text": secrets.token_urlsafe(7_500)[:10_000]})
            sent += 1
        for _ in range(200):
            if server.app.state.hub.subscriptions() == []:
                break
            await asyncio.sleep(0.01)

        assert subscription.overflowed
        assert subscription.high_water == limit
        assert subscription.queued == 0
        assert server.app.state.hub.subscriptions() == []
        with pytest.raises(ConnectionClosed) as closed:
            await _read_until_closed(client)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == SLOW_SUBSCRIBER_CLOSE_CODE
        assert closed.value.rcvd.reason == f"subscriber fell more than {limit} events behind"
        # The server went on serving everybody else.
        assert (await get(gql, rma["id"]))["version"] == 1 + sent
