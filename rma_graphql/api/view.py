"""The HTTP and websocket GraphQL endpoint: orjson, our context, a GraphiQL served locally."""

from importlib.resources import files
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from rma_graphql.api.context import Context
from rma_graphql.service.hub import EventHub
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
      const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl, headers: __HEADERS__ });
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(React.createElement(GraphiQL, {
        fetcher,
        defaultEditorToolsVisibility: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: true,
        defaultHeaders: __HEADERS_TEXT__,
      }));
    </script>
  </body>
</html>
"""


def graphiql_page(headers: dict[str, str] | None = None) -> str:
    headers = headers or {}
    return (
        GRAPHIQL_PAGE.replace("{assets}", ASSETS)
        .replace(
            "__HEADERS_TEXT__",
            orjson.dumps(orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode()).decode(),
        )
        .replace("__HEADERS__", orjson.dumps(headers).decode())
    )


def asset_directory() -> str:
    return str(files("rma_graphql") / "static" / "graphiql")


class RmaGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: Any, *, uow: UnitOfWork | None, organization: Any, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.uow = uow
        self.hub: EventHub | None = None
        # Resolves the organization a request acts in (the demo organization, for now).
        self.organization = organization
        self._page = graphiql_page()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        organization_id = await self.organization()
        assert self.uow is not None, "the app's lifespan has not started"
        return Context.build(
            self.uow, Caller(organization_id=organization_id), request, response, hub=self.hub
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._page)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
