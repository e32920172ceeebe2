"""The short way for compiled reads and actions: ASGI middleware that answers a plain
``POST /graphql`` whose query document a compiled plan answers, or whose mutation is one
compiled action (api/compiled_actions.py), without the router, the body and CORS middleware,
and strawberry's HTTP view around it.

It admits the request exactly as the view does (the bearer token's caller, the token's rate
limit) and answers with the bytes the view would send. Everything else passes through
untouched: another path or method, a cross-origin request (CORS is the next middleware's),
another content type, a body of unknown or excessive length, a batch, a document no plan
answers, a request without a valid token, a mutation sent with an ``Idempotency-Key``. A
request admitted here whose plan then declines (an unknown id, an argument strawberry must
refuse, a refused change) continues down the stack with its body and its admission, so its
token is authenticated and counted once; an action whose change is made but whose answer the
plan cannot give continues down the stack to have strawberry rebuild the answer.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLRequestData

from rma_graphql.api.compiled_actions import Answered
from rma_graphql.api.context import Context
from rma_graphql.api.middleware import MAX_BODY_BYTES
from rma_graphql.api.view import ADMITTED, Admission, RmaGraphQL, bearer_token, too_many_requests
from rma_graphql.service.idempotency import replay
from rma_graphql.service.rate_limits import Decision

T = TypeVar("T")

_ENDPOINT = ("POST", "/graphql")
_JSON = b"application/json"
_STREAMED = (b"multipart/mixed", b"text/event-stream")


@dataclass
class _Head:
    """What the fast path reads of a request's headers (the first of each)."""

    length: int | None = None
    authorization: str | None = None
    plain: bool = True
    keyed: bool = False  # an Idempotency-Key came with it


def _head(scope: Scope) -> _Head:
    head = _Head()
    seen_type = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            seen_type = True
            head.plain = head.plain and value.split(b";", 1)[0].strip().lower() == _JSON
        elif name == b"content-length" and head.length is None:
            head.length = int(value) if value.isdigit() else MAX_BODY_BYTES + 1
        elif name == b"authorization" and head.authorization is None:
            head.authorization = value.decode("latin-1")
        elif name == b"idempotency-key":
            head.keyed = True
        elif name == b"origin" or (name == b"accept" and any(kind in value for kind in _STREAMED)):
            head.plain = False
    head.plain = head.plain and seen_type and head.length is not None and head.length <= MAX_BODY_BYTES
    return head


def _request_data(body: bytes) -> GraphQLRequestData | None:
    """The request, when it is one JSON object a plan may answer (else the view's)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    query, variables = parsed.get("query"), parsed.get("variables")
    operation_name, extensions = parsed.get("operationName"), parsed.get("extensions")
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    if not isinstance(operation_name, str | None) or not isinstance(extensions, dict | None):
        return None
    return GraphQLRequestData(query, variables, operation_name, extensions)


class FastReads:
    """See the module's description; ``view`` is the GraphQL endpoint the stack ends in."""

    def __init__(self, app: ASGIApp, view: RmaGraphQL) -> None:
        self.app = app
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plans = self.view.read_plans
        if plans is None or scope["type"] != "http" or (scope["method"], scope["path"]) != _ENDPOINT:
            await self.app(scope, receive, send)
            return
        head = _head(scope)
        if not head.plain:
            await self.app(scope, receive, send)
            return
        body, more = await _body(receive)
        if more is None:  # the client went away
            return
        replay = _replaying(body, more, receive)
        request = _request_data(body) if not more else None
        actions = self.view.action_plans
        if request is not None and plans.answers(request.query, request.operation_name):
            await self._answer(scope, replay, send, head, request)
        elif (
            request is not None
            and actions is not None
            and not head.keyed
            and actions.answers(request.query, request.operation_name)
        ):
            await self._act(scope, replay, send, head, request)
        else:
            await self.app(scope, replay, send)

    async def _admit(self, scope: Scope, receive: Receive, send: Send, head: _Head) -> Admission | None:
        """The request's caller and its count against the token's limit, as the view admits
        it; None once the request is handled otherwise (no valid token: the view answers it;
        over the limit: refused here)."""
        view = self.view
        caller = await view.caller_of(bearer_token(head.authorization))
        if caller is None:
            await self.app(scope, receive, send)
            return None
        decision = await view.hit_token_limit(caller, scope)
        if decision is not None and not decision.allowed:
            await too_many_requests(decision)(scope, receive, send)
            return None
        return Admission(caller, decision)

    def _context(self, admission: Admission) -> Context:
        """The operation's context, as the view builds it."""
        view = self.view
        assert view.uow is not None, "the app's lifespan has not started"
        return Context.build(
            view.uow,
            admission.caller,
            hub=view.hub,
            accounts=view.accounts,
            webhooks=view.webhooks,
            notifications=view.notifications,
        )

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, head: _Head, run: Callable[[Context], Awaitable[T]]
    ) -> tuple[Admission, T] | None:
        """``run``'s result in the operation of the admitted caller's context, as the view
        runs one; None once the request is handled otherwise (see ``_admit``)."""
        admission = await self._admit(scope, receive, send, head)
        if admission is None:
            return None
        context = self._context(admission)
        async with context.uow.operation():
            return admission, await run(context)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, head: _Head, request: GraphQLRequestData
    ) -> None:
        """Admits the request as the view does, and answers it through its plan (or lets
        the view answer it)."""
        plans = self.view.read_plans
        assert plans is not None
        ran = await self._admitted(scope, receive, send, head, lambda context: plans.run(context, request))
        if ran is None:
            return
        admission, data = ran
        if data is None:
            scope[ADMITTED] = admission
            await self.app(scope, receive, send)
            return
        await _send_json(send, orjson.dumps({"data": data}), admission.decision)

    async def _act(
        self, scope: Scope, receive: Receive, send: Send, head: _Head, request: GraphQLRequestData
    ) -> None:
        """Admits the request as the view does, and runs its action (or lets the view run it,
        or rebuild its answer)."""
        actions = self.view.action_plans
        assert actions is not None
        ran = await self._admitted(scope, receive, send, head, lambda context: actions.run(context, request))
        if ran is None:
            return
        admission, outcome = ran
        if isinstance(outcome, Answered):
            await _send_json(send, orjson.dumps(outcome.body), admission.decision)
            return
        scope[ADMITTED] = admission
        if outcome is None:
            await self.app(scope, receive, send)
            return
        with replay(outcome.versions):
            await self.app(scope, receive, send)


async def _body(receive: Receive) -> tuple[bytes, bool | None]:
    """The body's first part as declared by its length (more: more parts follow; None: the
    client disconnected)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if sum(map(len, chunks)) > MAX_BODY_BYTES:
            return b"".join(chunks), True


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` giving the body read so far first."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _send_json(send: Send, body: bytes, decision: Decision | None) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", _JSON),
    ]
    if decision is not None:
        headers += [(name.lower().encode(), value.encode()) for name, value in decision.headers().items()]
    # As the CORS middleware says of every answer to a request without an Origin: caches
    # keep answers apart by Origin.
    headers.append((b"vary", b"Origin"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
