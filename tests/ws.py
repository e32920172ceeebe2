"""A websocket GraphQL client for tests: both subscription protocols, over a real socket."""

import asyncio
import itertools
import socket
from typing import TYPE_CHECKING, Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

if TYPE_CHECKING:
    from tests.conftest import Server

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class SubscriptionClient:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol
        self._ids = itertools.count(1)

    @classmethod
    async def open(
        cls,
        base_url: str,
        protocol: str = TRANSPORT_WS,
        *,
        receive_buffer: int | None = None,
        token: str | None = None,
        **options: Any,
    ) -> "SubscriptionClient":
        url = base_url.replace("http://", "ws://") + "/graphql"
        sock = None
        if receive_buffer is not None:
            # A client that reads nothing: the kernel buffers as little as it is allowed to.
            host, port = url.removeprefix("ws://").split("/")[0].split(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.connect((host, int(port)))
        connection = await connect(url, subprotocols=[protocol], sock=sock, **options)  # type: ignore[list-item]
        client = cls(connection, protocol)
        payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
        await client.send({"type": "connection_init", "payload": payload})
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self, within: float = 10) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), within)
            # Browsers' and Node's graphql-ws clients refuse binary frames.
            assert isinstance(raw, str), f"a binary frame: {raw!r}"
            message: dict[str, Any] = orjson.loads(raw)
            if message["type"] != "ka":  # the legacy protocol's keep-alive
                return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"id": operation_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )
        return operation_id

    async def next(self, within: float = 10) -> dict[str, Any]:
        """The next result's data; fails on an error or the end of the stream."""
        message = await self.receive(within)
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message["payload"]
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def collect(self, count: int, within: float = 20) -> list[dict[str, Any]]:
        return [await self.next(within) for _ in range(count)]

    async def close(self) -> None:
        await self.connection.close()


async def live(server: "Server", count: int = 1) -> None:
    """Wait until ``count`` subscribers are live in the server's hub (a change committed
    before then would not reach a subscription that starts live)."""
    for _ in range(500):
        if sum(1 for s in server.app.state.hub.subscriptions() if s.live) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never went live")


async def subscriptions_left(server: "Server", count: int = 0) -> None:
    """Wait until the server's hub holds ``count`` subscriptions (a completed one leaves it
    after the socket's handler has forgotten its operation)."""
    for _ in range(500):
        if len(server.app.state.hub.subscriptions()) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server kept {len(server.app.state.hub.subscriptions())} subscriptions")
