"""GraphiQL's files, served from memory: gzip-compressed once, cacheable, revalidated by ETag."""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

# A day: the files change only with the server's version, and the ETag revalidates them.
CACHE_CONTROL = "public, max-age=86400"
# The portal and the back office run their own scripts only and talk to this server only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
WEB = Path(__file__).resolve().parent.parent / "static" / "web"


def web_routes() -> list[Route]:
    """The customer return portal at /portal, the back office at /admin, and their files at
    /web/… (no token needed: their data comes through /graphql with one)."""
    return [
        Route("/portal", CompressedAssets(WEB, name="portal.html", headers=PAGE_HEADERS)),
        Route("/admin", CompressedAssets(WEB, name="admin.html", headers=PAGE_HEADERS)),
        Route("/web/{name}", CompressedAssets(WEB, headers={"X-Content-Type-Options": "nosniff"})),
    ]


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


class CompressedAssets:
    """An ASGI app serving the files of one directory (read when first asked for), or always
    the one file ``name`` (a page), with ``headers`` added to every answer."""

    def __init__(
        self, directory: str | Path, *, name: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.name = name
        self.headers = headers or {}
        self._assets: dict[str, _Asset | None] = {}

    def _asset(self, name: str) -> _Asset | None:
        if name not in self._assets:
            path = self.directory / name
            # Only the directory's own files: no subdirectories, no way out of it.
            if "/" in name or name.startswith(".") or not path.is_file():
                return None
            body = path.read_bytes()
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type == "application/javascript":
                media_type += "; charset=utf-8"
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._assets[name] = _Asset(body, gzip.compress(body, 9, mtime=0), media_type, etag)
        return self._assets[name]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        name = self.name or request.path_params.get("name") or scope["path"].rsplit("/", 1)[-1]
        asset = self._asset(name)
        if asset is None or request.method not in ("GET", "HEAD"):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        headers = {
            "ETag": asset.etag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            **self.headers,
        }
        if asset.etag in request.headers.get("if-none-match", ""):
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return
        body = asset.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        response = Response(body, media_type=asset.media_type, headers=headers)
        if request.method == "HEAD":
            response = Response(b"", media_type=asset.media_type, headers=headers)
            response.headers["content-length"] = str(len(body))
        await response(scope, receive, send)
