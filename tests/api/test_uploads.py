"""Pictures: POST /uploads takes a JPEG, PNG, WebP or HEIC image from whoever may create or
edit returns, stores it and answers a signed link; the link serves the file to whoever
holds it until it expires; anything else is refused and nothing is kept."""

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.db import tables as t
from tests.conftest import TEST_SETTINGS, GraphQLClient, Server, issued_token
from tests.helpers import bearer, rma_input, sign_up_input

Endpoint = tuple[str, httpx.AsyncBaseTransport | None]
UPLOADS = Path(TEST_SETTINGS["upload_dir"])
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { token } }"


def picture(kind: str, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(buffer, format=kind)
    return buffer.getvalue()


def _files() -> set[Path]:
    return set(UPLOADS.iterdir()) if UPLOADS.exists() else set()


def _http(endpoint: Endpoint, token: str | None = None) -> httpx.AsyncClient:
    base_url, transport = endpoint
    return httpx.AsyncClient(
        base_url=base_url, transport=transport, headers=bearer(token) if token else {}, timeout=30
    )


async def _customer_token(endpoint: Endpoint, organization_id: str) -> str:
    async with _http(endpoint) as anonymous:
        answer = await anonymous.post(
            "/graphql", json={"query": SIGN_UP, "variables": {"input": sign_up_input(organization_id)}}
        )
    token: str = answer.json()["data"]["signUp"]["token"]
    return token


async def _rows(engine: AsyncEngine, organization_id: str) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(select(t.upload).where(t.upload.c.organization_id == organization_id))
        return list(result.mappings())


@pytest.mark.parametrize(
    ("kind", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("WEBP", "image/webp", "webp"),
        ("HEIF", "image/heic", "heic"),
    ],
)
async def test_a_customer_uploads_a_picture_and_its_link_serves_it(
    endpoint: Endpoint,
    organization_id: str,
    engine: AsyncEngine,
    kind: str,
    content_type: str,
    extension: str,
) -> None:
    token = await _customer_token(endpoint, organization_id)
    data = picture(kind)
    async with _http(endpoint, token) as http:
        answer = await http.post(
            "/uploads", files={"file": (f"photo.{extension}", data, "application/octet-stream")}
        )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["contentType"] == content_type
    assert body["size"] == len(data)
    assert body["key"].endswith(f".{extension}")
    assert body["url"].startswith(f"{endpoint[0]}/uploads/{body['key']}?expires=")
    assert (UPLOADS / body["key"]).read_bytes() == data

    async with _http(endpoint) as anonymous:
        served = await anonymous.get(body["url"])
        tampered = await anonymous.get(body["url"][:-2] + ("AA" if not body["url"].endswith("AA") else "BB"))
        bare = await anonymous.get(f"/uploads/{body['key']}")
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (tampered.status_code, bare.status_code) == (403, 403)

    [row] = await _rows(engine, organization_id)
    assert (row["id"], row["content_type"], row["size"]) == (body["key"], content_type, len(data))
    assert row["uploaded_by"]["name"] == sign_up_input(organization_id)["username"]


async def test_a_link_expires(app: Starlette, endpoint: Endpoint, organization_id: str) -> None:
    token = await _customer_token(endpoint, organization_id)
    async with _http(endpoint, token) as http:
        key = (await http.post("/uploads", files={"file": ("a.png", picture("PNG"), "image/png")})).json()[
            "key"
        ]
    accounts = app.state.accounts
    past = int(time.time()) - 10
    expired = f"/uploads/{key}?expires={past}&signature={accounts.sign(f'upload:{key}:{past}')}"
    future = int(time.time()) + 600
    valid = f"/uploads/{key}?expires={future}&signature={accounts.sign(f'upload:{key}:{future}')}"
    async with _http(endpoint) as anonymous:
        assert (await anonymous.get(expired)).status_code == 403
        assert (await anonymous.get(valid)).status_code == 200


async def test_what_is_not_an_image_or_not_allowed_is_refused_and_nothing_is_kept(
    app: Starlette, endpoint: Endpoint, organization_id: str, engine: AsyncEngine
) -> None:
    token = await _customer_token(endpoint, organization_id)
    viewer = await issued_token(app, organization_id, scopes="view_rma_orders")
    before = _files()
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    truncated = picture("PNG")[:60]
    async with (
        _http(endpoint, token) as http,
        _http(endpoint, viewer) as view_only,
        _http(endpoint) as anonymous,
    ):
        answers = {
            "text": await http.post(
                "/uploads", files={"file": ("x.png", b"not a picture at all", "image/png")}
            ),
            "gif": await http.post("/uploads", files={"file": ("x.gif", gif.getvalue(), "image/gif")}),
            "truncated": await http.post("/uploads", files={"file": ("x.png", truncated, "image/png")}),
            "empty": await http.post("/uploads", files={"file": ("x.png", b"", "image/png")}),
            "no file": await http.post("/uploads", files={"other": ("x.png", picture("PNG"), "image/png")}),
            "not multipart": await http.post(
                "/uploads", content=picture("PNG"), headers={"content-type": "image/png"}
            ),
            "no token": await anonymous.post(
                "/uploads", files={"file": ("x.png", picture("PNG"), "image/png")}
            ),
            "no scope": await view_only.post(
                "/uploads", files={"file": ("x.png", picture("PNG"), "image/png")}
            ),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "text": 400,
        "gif": 400,
        "truncated": 400,
        "empty": 400,
        "no file": 400,
        "not multipart": 400,
        "no token": 401,
        "no scope": 403,
    }
    for name in ("text", "gif", "truncated"):
        assert answers[name].json() == {
            "statusCode": 400,
            "message": "The file is not a JPEG, PNG, WebP or HEIC image.",
            "field": "file",
        }
    assert answers["no scope"].json()["message"] == "Insufficient scope: create_rma_orders required"
    assert await _rows(engine, organization_id) == []
    assert _files() == before


async def test_a_picture_over_the_limit_is_refused(settings: Any, organization_id: str) -> None:
    big = picture("PNG")
    async with Server(settings.replace(upload_max_bytes=len(big) - 1)) as server:
        token = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
            over = await http.post("/uploads", files={"file": ("x.png", big, "image/png")})
            huge = await http.post("/uploads", files={"file": ("x.png", big + b"\0" * 100_000, "image/png")})
    assert over.status_code == 400
    assert over.json()["message"] == f"The file is over {len(big) - 1} bytes."
    assert huge.status_code == 413


async def test_the_link_goes_in_a_returns_pictures(
    endpoint: Endpoint, gql: GraphQLClient, organization_id: str
) -> None:
    token = await _customer_token(endpoint, organization_id)
    async with _http(endpoint, token) as http:
        url = (await http.post("/uploads", files={"file": ("a.jpg", picture("JPEG"), "image/jpeg")})).json()[
            "url"
        ]
        customer = GraphQLClient(http)
        lines = rma_input()["lines"]
        lines[0].pop("price")
        lines[1].pop("price")
        lines[0]["pictures"] = [url]
        created = await customer.data(
            "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { lines { pictures } } }",
            {"input": rma_input(lines=lines)},
        )
    assert created["rmaOrderCreate"]["lines"][0]["pictures"] == [url]
