"""The two websocket protocols, with every client message checked for its shape first.

strawberry's handlers index into messages as they come, so a message that is JSON but not
a valid message (``[1, 2, 3]``, a ``subscribe`` whose payload is a string) would end the
connection with a TypeError. Here such a message closes the socket with code 4400 and a
reason that names what is wrong, as graphql-transport-ws says, on the legacy protocol too.

A socket runs at most ``max_subscriptions_per_connection`` operations at once (its
subscriptions, and its queries and mutations still running; strawberry's own bound). One
more is refused with an ``error`` message for its id that names the cause, with the code
and reason every refusal carries, and the socket and its other operations go on.
"""

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLFormattedError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

INVALID_MESSAGE_CLOSE_CODE = 4400

# The message types that carry an operation, and those that only name one.
_OPERATION_TYPES = frozenset({"subscribe", "start"})
_ID_TYPES = frozenset({"complete", "stop"})


def message_problem(message: object) -> str | None:
    """What makes ``message`` an invalid protocol message, or None when it is well formed."""
    if not isinstance(message, Mapping):
        return "A message must be a JSON object."
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string 'type'."
    if kind in ("connection_init", "ping", "pong"):
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, Mapping):
            return f"The payload of '{kind}' must be an object."
        return None
    if (kind in _OPERATION_TYPES or kind in _ID_TYPES) and not (
        isinstance(message.get("id"), str) and message["id"]
    ):
        return f"A '{kind}' message needs a non-empty string 'id'."
    if kind in _OPERATION_TYPES:
        payload = message.get("payload")
        if not isinstance(payload, Mapping):
            return f"The payload of '{kind}' must be an object."
        if not isinstance(payload.get("query"), str):
            return f"The payload of '{kind}' needs a string 'query'."
        if not isinstance(payload.get("variables"), Mapping | None):
            return "'variables' must be an object or null."
        if not isinstance(payload.get("operationName"), str | None):
            return "'operationName' must be a string or null."
        if not isinstance(payload.get("extensions"), Mapping | None):
            return "'extensions' must be an object or null."
    return None


def too_many_operations(running: int, limit: int | None) -> GraphQLFormattedError | None:
    """The refusal of one more operation on a socket already running ``running``, or None."""
    if limit is None or running < limit:
        return None
    return GraphQLError(
        f"This connection already runs {limit} operations, the most one websocket may run at once "
        "(RMA_MAX_SUBSCRIPTIONS_PER_CONNECTION): complete one first, or open another connection.",
        extensions={"code": "BAD_REQUEST", "reason": "TOO_MANY_OPERATIONS", "limit": limit},
    ).formatted


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # A reused id is strawberry's to refuse (it closes the socket with 4409).
        if message["id"] not in self.operations:
            refusal = too_many_operations(len(self.operations), self.max_subscriptions_per_connection)
            if refusal is not None:
                await self.send_message(ErrorMessage(id=message["id"], type="error", payload=[refusal]))
                return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Any, None]):
    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.websocket.close(code=INVALID_MESSAGE_CLOSE_CODE, reason=problem)
            return
        await super().handle_message(message)

    async def handle_start(self, message: StartMessage) -> None:
        # A reused id replaces its operation (strawberry stops the old one first).
        running = len(self.tasks) - (message["id"] in self.tasks)
        refusal = too_many_operations(running, self.max_subscriptions_per_connection)
        if refusal is not None:
            await self.send_message(LegacyErrorMessage(type="error", id=message["id"], payload=refusal))
            return
        await super().handle_start(message)
