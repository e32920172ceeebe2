"""How many operations one websocket may run at once (RMA_MAX_SUBSCRIPTIONS_PER_CONNECTION):
one more is refused for its own id, naming the cause, and the socket and the operations it
runs go on; once one of them completes, there is room again."""

from typing import Any

import pytest

from rma_graphql.config import Settings
from tests.conftest import GraphQLClient, Server
from tests.helpers import create
from tests.ws import LEGACY_WS, TRANSPORT_WS, SubscriptionClient, live, subscriptions_left

UPDATED = "subscription U($id: String!) { rmaOrderUpdated(id: $id) { version } }"
COMMENT = "mutation($id: String!, $t: String!) { rmaOrderCommentAdd(id: $id, text: $t) { version } }"
LIMIT = 2


def _refusal(message: dict[str, Any], protocol: str) -> dict[str, Any]:
    """The one error of an ``error`` message (a list of errors on graphql-transport-ws)."""
    assert message["type"] == "error", message
    payload = message["payload"]
    if protocol == TRANSPORT_WS:
        assert len(payload) == 1, payload
        payload = payload[0]
    assert isinstance(payload, dict), payload
    return payload


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The server fixture's settings: this module's limit."""
    return settings.replace(max_subscriptions_per_connection=LIMIT)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_an_operation_beyond_the_limit_is_refused_and_the_others_go_on(
    server: Server, gql: GraphQLClient, protocol: str
) -> None:
    rma = await create(gql)
    client = await SubscriptionClient.open(server.url, protocol, token=gql.token)
    first = await client.subscribe(UPDATED, {"id": rma["id"]})
    second = await client.subscribe(UPDATED, {"id": rma["id"]})
    await live(server, LIMIT)

    third = await client.subscribe(UPDATED, {"id": rma["id"]})
    refused = await client.receive()

    assert refused["id"] == third
    error = _refusal(refused, protocol)
    assert error["extensions"] == {"code": "BAD_REQUEST", "reason": "TOO_MANY_OPERATIONS", "limit": LIMIT}
    assert f"already runs {LIMIT} operations" in str(error["message"])
    # Nothing of it was started, and the two before it still run on the same socket.
    assert len(server.app.state.hub.subscriptions()) == LIMIT
    await gql.data(COMMENT, {"id": rma["id"], "t": "one"})
    delivered = await _data(client, 2)
    assert sorted(m["id"] for m in delivered) == sorted([first, second])
    assert [m["payload"]["data"]["rmaOrderUpdated"]["version"] for m in delivered] == [2, 2]

    # Once one completes there is room for another.
    await client.send({"id": first, "type": "complete" if protocol == TRANSPORT_WS else "stop"})
    await subscriptions_left(server, LIMIT - 1)
    fourth = await client.subscribe(UPDATED, {"id": rma["id"]})
    await live(server, LIMIT)
    assert len(server.app.state.hub.subscriptions()) == LIMIT
    await gql.data(COMMENT, {"id": rma["id"], "t": "two"})
    delivered = await _data(client, 2)
    assert sorted(m["id"] for m in delivered) == sorted([second, fourth])
    assert [m["payload"]["data"]["rmaOrderUpdated"]["version"] for m in delivered] == [3, 3]

    await client.close()


async def _data(client: SubscriptionClient, count: int) -> list[dict[str, Any]]:
    """The next ``count`` results, past the legacy protocol's ``complete`` of a stopped one."""
    results: list[dict[str, Any]] = []
    while len(results) < count:
        message = await client.receive()
        if message["type"] == "complete" and client.protocol == LEGACY_WS:
            continue
        assert message["type"] in ("next", "data"), message
        results.append(message)
    return results
