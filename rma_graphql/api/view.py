"""The HTTP and websocket GraphQL endpoint: orjson, our context, a GraphiQL served locally."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from rma_graphql.api import idempotency as keys
from rma_graphql.api.compiled_actions import ActionPlans
from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.context import Context
from rma_graphql.api.schema import MAX_TOKENS, PUBLIC_FIELDS
from rma_graphql.api.websocket import LegacyWSHandler, TransportWSHandler
from rma_graphql.domain.access import Caller
from rma_graphql.service.accounts import Accounts, AuthenticationError
from rma_graphql.service.hub import EventHub
from rma_graphql.service.idempotency import Idempotency
from rma_graphql.service.notification_sender import NotificationSender
from rma_graphql.service.rate_limits import Decision, RateLimiter
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.webhook_sender import WebhookSender

ASSETS = "/graphiql-assets"

GRAPHIQL_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>rma_graphql · GraphiQL</title>
    <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
    <link rel="stylesheet" href="{assets}/graphiql.min.css" />
    <script src="{assets}/react.production.min.js"></script>
    <script src="{assets}/react-dom.production.min.js"></script>
    <script src="{assets}/graphiql.min.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading…</div>
    <script>
      const url = window.location.href.split("?")[0];
      const subscriptionUrl = url.replace(/^http/, "ws");
      // Only the headers editor's content is sent (over HTTP, and as the websocket's
      // connection_init payload): clearing it sends no token.
      const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(React.createElement(GraphiQL, {
        fetcher,
        defaultQuery: __DEFAULT_QUERY__,
        defaultEditorToolsVisibility: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: __PERSIST_HEADERS__,
        defaultHeaders: __HEADERS_TEXT__,
      }));
    </script>
  </body>
</html>
"""

# What GraphiQL opens on: a query worth running at once, and a subscription to try.
DEFAULT_QUERY = """# Returns (RMA orders), each with four statuses.
# Run: Ctrl-Enter. Token: the Headers tab below.

query RecentReturns {
  rmaOrders(first: 10) {
    totalCount
    nodes {
      returnReference
      processingStatus
      deliveryStatus
      financialStatus
      fulfillmentStatus
      lines { sku quantity reason lineState }
    }
  }
}

# Live events: uncomment, run it in a new tab (+),
# then change a return from another tab.
# subscription Events {
#   rmaOrderEvents {
#     position rmaOrderId type
#     changes { dimension from to }
#   }
# }
"""


def graphiql_page(headers: dict[str, str] | None = None) -> str:
    """The GraphiQL page; with headers (a demo token), they fill its editor and are not kept."""
    persist = headers is None
    headers = headers or {}
    return (
        GRAPHIQL_PAGE.replace("{assets}", ASSETS)
        .replace("__PERSIST_HEADERS__", "true" if persist else "false")
        .replace("__DEFAULT_QUERY__", orjson.dumps(DEFAULT_QUERY).decode())
        .replace(
            "__HEADERS_TEXT__",
            orjson.dumps(orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode()).decode(),
        )
    )


def asset_directory() -> str:
    return str(files("rma_graphql") / "static" / "graphiql")


class RefusedError(Exception):
    """Ends a request with this response: before GraphQL runs (401, 429), or instead of
    strawberry's (the answer of a request with an idempotency key)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def unauthorized() -> Response:
    return JSONResponse(
        {"statusCode": 401, "message": "Unauthorized"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def too_many_requests(decision: Decision) -> Response:
    return JSONResponse(
        {"statusCode": 429, "message": "Too Many Requests"}, status_code=429, headers=decision.headers()
    )


def bearer_token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@lru_cache(maxsize=2048)
def _root_fields(query: str) -> dict[str | None, tuple[str, frozenset[str]]]:
    """Each operation's type and root field names, by operation name (parsed once per text)."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return {}
    operations: dict[str | None, tuple[str, frozenset[str]]] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            # A fragment at the root could hide any field: it counts as a field no
            # operation may run without a token.
            fields = frozenset(
                selection.name.value if isinstance(selection, FieldNode) else "..."
                for selection in definition.selection_set.selections
            ) - {"__typename"}
            name = definition.name.value if definition.name else None
            operations[name] = (definition.operation.value, fields)
    return operations


def _operation(request_data: Any) -> tuple[str, frozenset[str]] | None:
    """The type and root fields of the operation a request runs (None when it cannot say)."""
    if isinstance(request_data, list) or not isinstance(getattr(request_data, "query", None), str):
        return None
    operations = _root_fields(request_data.query)
    name = request_data.operation_name
    if name is None and len(operations) == 1:
        name = next(iter(operations))
    return operations.get(name)


def is_public(request_data: Any) -> bool:
    """Whether the request runs only operations that need no token (signUp, logIn)."""
    found = _operation(request_data)
    return found is not None and found[0] == "mutation" and bool(found[1]) and found[1] <= PUBLIC_FIELDS


def is_subscription(request_data: Any) -> bool:
    """Whether the request, or any request of a batch, runs a subscription."""
    if isinstance(request_data, list):
        return any(is_subscription(item) for item in request_data)
    found = _operation(request_data)
    return found is not None and found[0] == "subscription"


SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions are served over websockets only: open a websocket on this endpoint's "
    "path with the 'graphql-transport-ws' protocol (the graphql-ws library's) or the "
    "legacy 'graphql-ws' protocol (subscriptions-transport-ws)."
)


def bad_request(message: str, status_code: int = 400) -> JSONResponse:
    """A request that is not one GraphQL can run (HTTP 400 by default), in the errors shape."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}, status_code=status_code
    )


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

# Where the fast path (api/fast_reads.py) leaves the admission of a request it passes on.
ADMITTED = "rma.admitted"


@dataclass(frozen=True)
class Admission:
    """A request's caller and its token's rate limit decision, taken once."""

    caller: Caller
    decision: Decision | None


def client_address(scope: Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RmaGraphQL(GraphQL[Context, None]):
    """The GraphQL endpoint: authenticates, rate-limits, then lets strawberry run the operation."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: Any, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        # Set by the app's lifespan, which owns the engine.
        self.uow: UnitOfWork | None = None
        self.hub: EventHub | None = None
        self.accounts: Accounts | None = None
        self.token_limiter: RateLimiter | None = None
        self.address_limiter: RateLimiter | None = None
        # When authentication is off: the caller every request acts as.
        self.open_caller: Caller | None = None
        # On the embedded database served on loopback: headers carrying a fresh demo token.
        self.demo_headers: Callable[[], dict[str, str]] | None = None
        # Sends webhooks, and keeps their secrets (set by the app's lifespan).
        self.webhooks: WebhookSender | None = None
        # Sends notification emails (set by the app's lifespan).
        self.notifications: NotificationSender | None = None
        # The compiled read plans (None: every operation runs through strawberry).
        self.read_plans: ReadPlans | None = None
        # The compiled actions (None: every mutation runs through strawberry).
        self.action_plans: ActionPlans | None = None
        # Keeps the answers of mutations sent with an Idempotency-Key (set by the lifespan).
        self.idempotency: Idempotency | None = None
        self._page = graphiql_page()

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except RefusedError as refusal:
            return refusal.response
        except HTTPException as refusal:
            # strawberry's own refusals (an unknown operation name, a missing query) come
            # as plain text, which GraphQL clients cannot read: the errors shape instead.
            return bad_request(refusal.reason, refusal.status_code)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        assert self.uow is not None, "the app's lifespan has not started"
        admitted = request.scope.get(ADMITTED)
        if admitted is not None:
            caller: Caller | None = admitted.caller
        elif isinstance(request, Request):
            caller = await self.caller_of(bearer_token(request.headers.get("authorization")))
        else:
            caller = self.open_caller
        return Context.build(
            self.uow,
            caller,
            request,
            response,
            hub=self.hub,
            accounts=self.accounts,
            webhooks=self.webhooks,
            notifications=self.notifications,
        )

    async def caller_of(self, token: str | None) -> Caller | None:
        """Who an HTTP request acts as: the open caller when authentication is off, else its
        bearer token's caller (None without a valid token)."""
        if self.open_caller is not None:
            return self.open_caller
        return await self._authenticate(token)

    async def hit_token_limit(self, caller: Caller, scope: Any) -> Decision | None:
        """Counts the request against its token's limit (its address's without a token)."""
        if self.token_limiter is None:
            return None
        return await self.token_limiter.hit(caller.token_id or client_address(scope))

    async def _authenticate(self, token: str | None) -> Caller | None:
        if token is None or self.accounts is None:
            return None
        try:
            return await self.accounts.authenticate(token)
        except AuthenticationError:
            return None

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        admitted = request.scope.get(ADMITTED)
        if admitted is not None:
            decision = admitted.decision
        elif is_public(request_data):
            # signUp and logIn ignore any Authorization header, and are limited per address.
            context.caller = None
            address = client_address(request.scope)
            decision = await self.address_limiter.hit(address) if self.address_limiter else None
        else:
            if context.caller is None:
                raise RefusedError(unauthorized())
            decision = await self.hit_token_limit(context.caller, request.scope)
        if decision is not None:
            if not decision.allowed:
                raise RefusedError(too_many_requests(decision))
            sub_response.headers.update(decision.headers())
        if is_subscription(request_data):
            return ExecutionResult(
                data=None, errors=[GraphQLError(SUBSCRIPTION_OVER_HTTP, extensions={"code": "BAD_REQUEST"})]
            )
        key = request.headers.get("idempotency-key")
        if key is not None and self.idempotency is not None:

            async def run() -> bytes:
                result = await self._execute(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
                return orjson.dumps(await self.process_result(request, result))

            answer = await keys.respond(
                self.idempotency, key, _operation(request_data), request_data, context, run
            )
            if answer is not None:
                answer.headers.raw.extend(sub_response.headers.raw)
                raise RefusedError(answer)
        return await self._execute(request, request_adapter, request_data, context, root_value, sub_response)

    async def _execute(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        # The operation's reads share one connection and one snapshot.
        async with context.uow.operation():
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        plans = self.read_plans
        # A plan that declined on the fast path declines again: per-field execution answers.
        if ADMITTED in request.scope:
            plans = None
        if plans is not None and (request_adapter.method != "GET" or self.allow_queries_via_get):
            data = await plans.run(context, request_data)
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        result: ExecutionResult = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        return result

    async def on_ws_connect(self, context: Context) -> Any:
        """A websocket authenticates with ``{"Authorization": "Bearer …"}`` in connection_init."""
        if self.open_caller is not None:
            context.caller = self.open_caller
            return UNSET
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("Authorization") or params.get("authorization")
        caller = await self._authenticate(bearer_token(header) if isinstance(header, str) else None)
        if caller is None:
            raise ConnectionRejectionError({"message": "Unauthorized"})
        context.caller = caller
        return UNSET

    async def render_graphql_ide(self, request: Request) -> Response:
        client = request.client.host if request.client else None
        # Behind a proxy every client looks local: a forwarded request gets no demo token.
        forwarded = "forwarded" in request.headers or "x-forwarded-for" in request.headers
        if self.demo_headers is not None and client in LOOPBACK and not forwarded:
            return HTMLResponse(graphiql_page(self.demo_headers()))
        return HTMLResponse(self._page)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A POST body (a GraphQL request is a JSON object, or a list of them: a batch), or a
        GET request's variables or extensions (JSON objects)."""
        try:
            parsed = self.decode_json(data)
        except orjson.JSONDecodeError:
            raise RefusedError(
                bad_request(
                    "Not valid JSON: a POST body, and a GET request's variables and extensions, are JSON."
                )
            ) from None
        if not isinstance(parsed, dict | list) or (
            isinstance(parsed, list) and not all(isinstance(item, dict) for item in parsed)
        ):
            raise RefusedError(
                bad_request(
                    "A GraphQL request is a JSON object such as "
                    '{"query": "…", "variables": {…}} (or a list of them), and a GET '
                    "request's variables and extensions are JSON objects."
                )
            )
        return parsed

    def encode_json(self, data: object) -> str:
        # Text: websocket messages must go out as text frames (graphql-ws refuses binary ones).
        return orjson.dumps(data).decode()

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = Response(orjson.dumps(response_data), media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response
