"""The HTTP and websocket GraphQL endpoint: orjson, our context, a GraphiQL served locally."""

from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET

from rma_graphql.api.context import Context
from rma_graphql.api.schema import MAX_DEPTH, MAX_TOKENS, PUBLIC_FIELDS
from rma_graphql.service.accounts import Accounts, AuthenticationError
from rma_graphql.service.hub import EventHub
from rma_graphql.service.rate_limits import Decision, RateLimiter
from rma_graphql.service.rma_orders import Caller
from rma_graphql.service.unit_of_work import UnitOfWork

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
      const baseFetcher = GraphiQL.createFetcher({ url, subscriptionUrl, headers: __HEADERS__ });
      // The server refuses operations more than __MAX_DEPTH__ fields deep, introspection
      // included; GraphiQL's schema query nests type references deeper than any type here
      // needs, so it asks for __TYPE_REF_LEVELS__ levels instead.
      const typeRef = "fragment TypeRef on __Type { kind name "
        + "ofType { kind name ".repeat(__TYPE_REF_LEVELS__) + "}".repeat(__TYPE_REF_LEVELS__) + " }";
      const fetcher = (params, options) => {
        const at = params.query ? params.query.indexOf("fragment TypeRef on __Type") : -1;
        if (params.operationName === "IntrospectionQuery" && at >= 0) {
          params = { ...params, query: params.query.slice(0, at) + typeRef };
        }
        return baseFetcher(params, options);
      };
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(React.createElement(GraphiQL, {
        fetcher,
        defaultEditorToolsVisibility: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: __PERSIST_HEADERS__,
        defaultHeaders: __HEADERS_TEXT__,
      }));
    </script>
  </body>
</html>
"""


# __schema > types > fields > args > type, then this many ofType levels and their names:
# twelve fields deep, the depth limit.
TYPE_REF_LEVELS = 6


def graphiql_page(headers: dict[str, str] | None = None) -> str:
    """The GraphiQL page; with headers (a demo token), they are its defaults and not kept."""
    persist = headers is None
    headers = headers or {}
    return (
        GRAPHIQL_PAGE.replace("{assets}", ASSETS)
        .replace("__TYPE_REF_LEVELS__", str(TYPE_REF_LEVELS))
        .replace("__MAX_DEPTH__", str(MAX_DEPTH))
        .replace("__PERSIST_HEADERS__", "true" if persist else "false")
        .replace(
            "__HEADERS_TEXT__",
            orjson.dumps(orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode()).decode(),
        )
        .replace("__HEADERS__", orjson.dumps(headers).decode())
    )


def asset_directory() -> str:
    return str(files("rma_graphql") / "static" / "graphiql")


class RefusedError(Exception):
    """Ends a request before GraphQL runs, with this response (401, 429)."""

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


def is_public(request_data: Any) -> bool:
    """Whether the request runs only operations that need no token (signUp, logIn)."""
    if isinstance(request_data, list) or not isinstance(getattr(request_data, "query", None), str):
        return False
    operations = _root_fields(request_data.query)
    name = request_data.operation_name
    if name is None and len(operations) == 1:
        name = next(iter(operations))
    found = operations.get(name)
    return found is not None and found[0] == "mutation" and bool(found[1]) and found[1] <= PUBLIC_FIELDS


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class RmaGraphQL(GraphQL[Context, None]):
    """The GraphQL endpoint: authenticates, rate-limits, then lets strawberry run the operation."""

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
        self._page = graphiql_page()

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        except RefusedError as refusal:
            return refusal.response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        assert self.uow is not None, "the app's lifespan has not started"
        caller = self.open_caller
        if caller is None and isinstance(request, Request):
            caller = await self._authenticate(request.headers.get("authorization"))
        return Context.build(self.uow, caller, request, response, hub=self.hub, accounts=self.accounts)

    async def _authenticate(self, header: str | None) -> Caller | None:
        token = bearer_token(header)
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
        address = request.client.host if request.client else "unknown"
        if is_public(request_data):
            # signUp and logIn ignore any Authorization header, and are limited per address.
            context.caller = None
            decision = await self.address_limiter.hit(address) if self.address_limiter else None
        else:
            if context.caller is None:
                raise RefusedError(unauthorized())
            key = context.caller.token_id or address
            decision = await self.token_limiter.hit(key) if self.token_limiter else None
        if decision is not None:
            if not decision.allowed:
                raise RefusedError(too_many_requests(decision))
            sub_response.headers.update(decision.headers())
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """A websocket authenticates with ``{"Authorization": "Bearer …"}`` in connection_init."""
        if self.open_caller is not None:
            context.caller = self.open_caller
            return UNSET
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("Authorization") or params.get("authorization")
        caller = await self._authenticate(header if isinstance(header, str) else None)
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

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
