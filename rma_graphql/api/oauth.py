"""``POST /oauth2/token``: the OAuth2 client-credentials grant (RFC 6749 §4.4)."""

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rma_graphql.domain.access import parse_scopes
from rma_graphql.service.accounts import Accounts, InvalidClientError, InvalidScopeError
from rma_graphql.service.rate_limits import RateLimiter

MAX_FORM_BYTES = 16 * 1024
# Token responses must not be cached (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


async def _form(request: Request) -> dict[str, str] | None:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            data = orjson.loads(body)
            if not isinstance(data, dict):
                return None
            return {str(k): str(v) for k, v in data.items() if v is not None}
        return dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def token_endpoint(state: dict[str, Any]) -> Callable[[Request], Awaitable[Response]]:
    async def token(request: Request) -> Response:
        accounts: Accounts = state["accounts"]
        limiter: RateLimiter = state["address_limiter"]
        decision = await limiter.hit(request.client.host if request.client else "unknown")
        if not decision.allowed:
            return _error(429, "slow_down", "Too many token requests from this address.", decision.headers())
        form = await _form(request)
        if form is None:
            return _error(400, "invalid_request", "The body must be a form (or JSON) of at most 16 KiB.")
        if form.get("grant_type") != "client_credentials":
            if "grant_type" not in form:
                return _error(400, "invalid_request", "grant_type is missing.")
            return _error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
        basic = _basic_credentials(request.headers.get("authorization"))
        in_form = "client_id" in form or "client_secret" in form
        if basic is not None and in_form:
            return _error(400, "invalid_request", "Authenticate the client once: HTTP Basic or the form.")
        client_id, client_secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        requested = parse_scopes(form.get("scopes") or form.get("scope"))
        challenge = {"WWW-Authenticate": 'Basic realm="rma_graphql"'} if basic is not None else None
        try:
            issued = await accounts.client_credentials(
                client_id, client_secret, form.get("organization_id") or None, requested
            )
        except InvalidClientError as error:
            return _error(401, "invalid_client", str(error), challenge)
        except InvalidScopeError as error:
            return _error(400, "invalid_scope", str(error))
        return JSONResponse(
            {
                "access_token": issued.token,
                "token_type": "bearer",
                "expires_in": issued.expires_in,
                "scope": " ".join(sorted(issued.scopes)),
            },
            headers={**NO_STORE, **decision.headers()},
        )

    return token
