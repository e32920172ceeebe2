"""ASGI middleware of our own: the request body limit and CORS that says what it refused."""

import logging
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
logger = logging.getLogger("rma_graphql")


class BodySizeLimit:
    """Answers 413 for a request body over the limit, declared or streamed."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY_BYTES, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        # Paths allowed more (the uploads).
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await _too_large(scope, receive, send, limit)


class _BodyTooLargeError(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    size = "1 MiB" if limit == MAX_BODY_BYTES else f"{limit} bytes"
    response = JSONResponse(
        {
            "errors": [
                {"message": f"The request body is over {size}.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
            ]
        },
        status_code=413,
    )
    await response(scope, receive, send)


class Cors(CORSMiddleware):
    """CORS for the allowed origins (``RMA_ALLOWED_ORIGINS``); any other origin's preflight
    gets no ``Access-Control-Allow-Origin``, and the log says once per origin what would
    allow it."""

    MAX_ORIGINS_LOGGED = 1000

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...]) -> None:
        super().__init__(
            app,
            allow_origins=list(allowed_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
        )
        self._logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc == headers.get("host"):
                # Same origin (GraphiQL and the pages served here): CORS has no part in it.
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        allowed = super().is_allowed_origin(origin)
        if not allowed and origin not in self._logged and len(self._logged) < self.MAX_ORIGINS_LOGGED:
            self._logged.add(origin)
            logger.warning(
                "refused a cross-origin request from %s: add it to RMA_ALLOWED_ORIGINS "
                "(comma-separated origins) to allow browsers there to call this server",
                origin,
            )
        return allowed
