"""POST /uploads (multipart, a token needed: a user's or a portal guest's) stores a picture and
answers its signed link, to put in a return line's ``pictures``; GET /uploads/{key} serves
the file to whoever holds an unexpired link."""

from functools import partial
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rma_graphql.api.view import RmaGraphQL, bearer_token, too_many_requests
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service.uploads import Uploads

UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized"}
# Those who may upload: whoever creates or edits returns.
SCOPES = (access.CREATE_RMA_ORDERS, access.EDIT_RMA_ORDERS)


def _refused(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"statusCode": status, "message": message, **extra}, status_code=status)


async def upload(view: RmaGraphQL, request: Request) -> Response:
    """Admitted as /graphql admits a request: the same caller and the same token limit."""
    uploads: Uploads = request.app.state.uploads
    caller = await view.caller_of(bearer_token(request.headers.get("authorization")))
    if caller is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    decision = await view.hit_token_limit(caller, request.scope)
    if decision is not None and not decision.allowed:
        return too_many_requests(decision)
    if not any(scope in caller.scopes for scope in SCOPES):
        return _refused(403, f"Insufficient scope: {SCOPES[0]} required")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _refused(400, "Send the picture as multipart/form-data, in a field named 'file'.")
    async with request.form(max_files=1, max_fields=5, max_part_size=uploads.max_bytes) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return _refused(400, "Send the picture in a field named 'file'.")
        data = await file.read(uploads.max_bytes + 1)
    try:
        stored = await uploads.store(caller, data)
    except BadUserInputError as refused:
        return _refused(400, str(refused), field=refused.field)
    # Absolute, at the address the client reached: it goes in a line's pictures as it is.
    url = str(request.base_url).rstrip("/") + stored.url
    body = {"url": url, "key": stored.key, "contentType": stored.content_type, "size": stored.size}
    return JSONResponse(body, status_code=201, headers=decision.headers() if decision else None)


async def download(request: Request) -> Response:
    uploads: Uploads = request.app.state.uploads
    query = request.query_params
    found = await uploads.read(
        request.path_params["key"], query.get("expires", ""), query.get("signature", "")
    )
    if found is None:
        return _refused(403, "Invalid or expired link")
    data, media_type = found
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": "inline",
    }
    return Response(data, media_type=media_type, headers=headers)


def upload_routes(view: RmaGraphQL) -> list[Route]:
    return [
        Route("/uploads", partial(upload, view), methods=["POST"]),
        Route("/uploads/{key}", download, methods=["GET", "HEAD"]),
    ]
