"""The token endpoint, bearer tokens and their failures, users, and secrets kept out of sight."""

import asyncio
import base64
import logging
import time
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.config import Settings
from rma_graphql.db import tables as t
from rma_graphql.db.engine import create_engine
from rma_graphql.domain.access import SCOPES
from rma_graphql.domain.statuses import ActorType
from rma_graphql.service.organizations import create_client, create_organization
from rma_graphql.service.unit_of_work import UnitOfWork
from tests.conftest import Server
from tests.helpers import LOG_IN, SIGN_UP, bearer, sign_up_input, snapshot

VIEWER = "{ viewer { organizationId role scopes actor { type id name } } }"
UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized"}


async def _client(server: Server, organization_id: str, scopes: str | None = None) -> tuple[str, str]:
    engine = create_engine(server.settings)
    try:
        return await create_client(
            UnitOfWork(engine), organization_id, scopes=frozenset(scopes.split()) if scopes else None
        )
    finally:
        await engine.dispose()


async def _post(
    server: Server, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)


async def _token_request(server: Server, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.post("/oauth2/token", **kwargs)


async def test_client_credentials_in_the_form_give_a_bearer_token_with_every_scope(
    server: Server, organization_id: str
) -> None:
    client_id, secret = await _client(server, organization_id)

    response = await _token_request(
        server,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "organization_id": organization_id,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert body["scope"].split() == sorted(SCOPES)
    assert response.headers["cache-control"] == "no-store"
    viewer = (await _post(server, VIEWER, headers=bearer(body["access_token"]))).json()["data"]["viewer"]
    assert viewer == {
        "organizationId": organization_id,
        "role": None,
        "scopes": sorted(SCOPES),
        "actor": {"type": "API_CLIENT", "id": client_id, "name": "API client"},
    }


@pytest.mark.parametrize("field", ["scopes", "scope"])
async def test_http_basic_and_requested_scopes_narrow_the_token(
    server: Server, organization_id: str, field: str
) -> None:
    client_id, secret = await _client(server, organization_id, "view_rma_orders create_rma_orders")
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    response = await _token_request(
        server,
        data={"grant_type": "client_credentials", field: "view_rma_orders"},
        headers={"Authorization": f"Basic {basic}"},
    )
    unrequested = await _token_request(
        server, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "view_rma_orders"
    assert unrequested.json()["scope"] == "create_rma_orders view_rma_orders"


async def test_token_endpoint_refusals_use_the_oauth2_bodies(server: Server, organization_id: str) -> None:
    client_id, secret = await _client(server, organization_id, "view_rma_orders")
    other = await _other_organization(server)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}

    wrong_secret = await _token_request(server, data={**form, "client_secret": secret + "x"})
    unknown_client = await _token_request(server, data={**form, "client_id": "rma_nobody"})
    foreign = await _token_request(server, data={**form, "organization_id": other})
    missing_scope = await _token_request(server, data={**form, "scope": "view_rma_orders edit_rma_orders"})
    unknown_scope = await _token_request(server, data={**form, "scope": "launch_rockets"})
    grant = await _token_request(server, data={**form, "grant_type": "password"})
    no_grant = await _token_request(server, data={"client_id": client_id, "client_secret": secret})

    for response in (wrong_secret, unknown_client, foreign):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    for response in (missing_scope, unknown_scope):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    assert (no_grant.status_code, no_grant.json()["error"]) == (400, "invalid_request")


async def _other_organization(server: Server) -> str:
    engine = create_engine(server.settings)
    try:
        return await create_organization(UnitOfWork(engine), "Other merchant")
    finally:
        await engine.dispose()


async def test_missing_bad_and_tampered_tokens_are_401_and_change_nothing(
    server: Server, admin_token: str, organization_id: str, engine: AsyncEngine
) -> None:
    create = 'mutation { locationCreate(input: {name: "Depot", type: WAREHOUSE}) { id } }'
    header, payload, signature = admin_token.split(".")
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    # Another organization in the claims, with the original signature.
    forged = base64.urlsafe_b64encode(claims.replace(b'"org":"', b'"org":"0')).decode().rstrip("=")
    tampered_payload = f"{header}.{forged}.{signature}"
    tampered_signature = f"{header}.{payload}.{signature[:-4]}AAAA"
    before = await snapshot(engine, organization_id)

    answers = [
        await _post(server, create),
        await _post(server, create, headers={"Authorization": "Bearer"}),
        await _post(server, create, headers={"Authorization": "Bearer not-a-token"}),
        await _post(server, create, headers={"Authorization": f"Basic {admin_token}"}),
        await _post(server, create, headers=bearer(tampered_payload)),
        await _post(server, create, headers=bearer(tampered_signature)),
        await _post(server, "{ rmaStateMachines { dimension } }"),
        await _post(server, "{ __typename }"),
        await _post(server, "not a document"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(401, UNAUTHORIZED)] * len(answers)
    assert await snapshot(engine, organization_id) == before
    allowed = await _post(server, create, headers=bearer(admin_token))
    assert "errors" not in allowed.json()


async def test_a_token_signed_with_another_key_is_401(server: Server, organization_id: str) -> None:
    from rma_graphql.service.accounts import Accounts

    stranger = Accounts(server.app.state.uow, "k" * 48)
    forged = stranger.issue(
        organization_id=organization_id,
        subject="rma_forged",
        kind=ActorType.API_CLIENT,
        name="forged",
        scopes=SCOPES,
    )

    answer = await _post(server, VIEWER, headers=bearer(forged.token))

    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)


async def test_an_expired_token_is_401(settings: Settings, organization_id: str) -> None:
    async with Server(settings.replace(token_ttl_seconds=2)) as server:
        issued_after = time.time()
        token = await server.token(organization_id)
        fresh = await _post(server, VIEWER, headers=bearer(token))
        # The expiry is a whole second at most one second past issuance + TTL.
        await asyncio.sleep(3.2)

        expired = await _post(server, VIEWER, headers=bearer(token))

    claims = jwt.decode(token, options={"verify_signature": False})
    # A token lasts at least its TTL: whole seconds are rounded up, never down.
    assert claims["exp"] >= issued_after + 2
    assert fresh.status_code == 200
    assert (expired.status_code, expired.json()) == (401, UNAUTHORIZED)


async def test_concurrent_log_outs_of_one_token_all_succeed(server: Server, organization_id: str) -> None:
    user = sign_up_input(organization_id)
    await _post(server, SIGN_UP, {"input": user})
    token = (await _post(server, LOG_IN, {"username": user["username"], "password": "correct horse"})).json()[
        "data"
    ]["logIn"]["token"]
    assert (await _post(server, VIEWER, headers=bearer(token))).status_code == 200
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        answers = await asyncio.gather(
            *(
                http.post("/graphql", json={"query": "mutation { logOut }"}, headers=bearer(token))
                for _ in range(10)
            )
        )
    after = await _post(server, VIEWER, headers=bearer(token))

    # Each one either logged out or found the token already refused; none failed.
    for answer in answers:
        assert answer.json() == {"data": {"logOut": True}} or answer.status_code == 401, answer.text
    assert (after.status_code, after.json()) == (401, UNAUTHORIZED)


async def test_open_endpoints_need_no_token(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        asset = await http.get("/graphiql-assets/graphiql.min.js")

    assert [r.status_code for r in (health, ready, page, asset)] == [200, 200, 200, 200]


async def test_sign_up_log_in_and_log_out(server: Server, organization_id: str) -> None:
    user = sign_up_input(organization_id)

    # A stale Authorization header is ignored by signUp and logIn.
    signed_up = (await _post(server, SIGN_UP, {"input": user}, headers=bearer("stale"))).json()["data"][
        "signUp"
    ]
    logged_in = (
        await _post(server, LOG_IN, {"username": user["username"].upper(), "password": "correct horse"})
    ).json()
    token = logged_in["data"]["logIn"]["token"]
    viewer = (await _post(server, VIEWER, headers=bearer(token))).json()["data"]["viewer"]
    logged_out = (await _post(server, "mutation { logOut }", headers=bearer(token))).json()
    after = await _post(server, VIEWER, headers=bearer(token))
    other_session = await _post(server, VIEWER, headers=bearer(signed_up["token"]))

    assert signed_up["user"] == {
        "id": signed_up["user"]["id"],
        "username": user["username"],
        "email": "ada@example.com",
        "role": "CUSTOMER",
    }
    assert signed_up["expiresIn"] == 3600
    assert logged_in["data"]["logIn"]["user"] == {
        "id": signed_up["user"]["id"],
        "username": user["username"],
        "role": "CUSTOMER",
    }
    assert viewer["role"] == "CUSTOMER"
    assert viewer["scopes"] == [
        "create_rma_orders",
        "edit_rma_orders",
        "view_orders",
        "view_rma_configurations",
        "view_rma_orders",
    ]
    assert viewer["actor"] == {"type": "USER", "id": signed_up["user"]["id"], "name": user["username"]}
    assert logged_out == {"data": {"logOut": True}}
    assert (after.status_code, after.json()) == (401, UNAUTHORIZED)
    assert other_session.status_code == 200


async def test_sign_up_refusals_name_their_cause_and_create_nothing(
    server: Server, organization_id: str, engine: AsyncEngine
) -> None:
    good = sign_up_input(organization_id)
    await _post(server, SIGN_UP, {"input": good})
    before = await snapshot(engine, organization_id)
    cases = [
        ({**good, "username": good["username"].upper()}, "BAD_USER_INPUT", "input.username"),
        ({**good, "username": "a"}, "BAD_USER_INPUT", "input.username"),
        ({**good, "username": "bob", "email": "not-an-email"}, "BAD_USER_INPUT", "input.email"),
        ({**good, "username": "bob", "password": "short"}, "BAD_USER_INPUT", "input.password"),
        (
            {**good, "username": "bob", "organizationId": "6f0b5c1e-0000-4000-8000-000000000000"},
            "BAD_USER_INPUT",
            "input.organizationId",
        ),
        ({**good, "username": "bob", "organizationId": "nope"}, "BAD_USER_INPUT", "input.organizationId"),
    ]

    for variables, code, field in cases:
        body = (await _post(server, SIGN_UP, {"input": variables})).json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": code, "field": field}, variables

    assert await snapshot(engine, organization_id) == before


async def test_an_organization_can_switch_self_sign_up_off(
    server: Server, organization_id: str, admin_token: str, engine: AsyncEngine
) -> None:
    switched = await _post(
        server,
        "mutation { organizationUpdate(input: {allowCustomerSignUp: false}) { allowCustomerSignUp } }",
        headers=bearer(admin_token),
    )
    before = await snapshot(engine, organization_id)
    user = sign_up_input(organization_id, username="eve", email="eve@example.com")

    body = (await _post(server, SIGN_UP, {"input": user})).json()

    assert switched.json() == {"data": {"organizationUpdate": {"allowCustomerSignUp": False}}}
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert body["errors"][0]["message"] == "This organization does not allow customers to sign up."
    assert await snapshot(engine, organization_id) == before


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    server: Server, organization_id: str
) -> None:
    user = sign_up_input(organization_id)
    await _post(server, SIGN_UP, {"input": user})

    wrong = (await _post(server, LOG_IN, {"username": user["username"], "password": "wrong horse"})).json()
    unknown = (await _post(server, LOG_IN, {"username": "nobody", "password": "correct horse"})).json()

    assert wrong == unknown
    assert wrong["data"] is None
    assert wrong["errors"][0]["message"] == "Invalid username or password."


async def test_no_secret_or_password_is_stored_or_logged_in_clear(
    server: Server, organization_id: str, caplog: pytest.LogCaptureFixture, engine: AsyncEngine
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Tr0ub4dor&3-horse-battery"
    client_id, secret = await _client(server, organization_id)
    token = (
        await _token_request(
            server, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        )
    ).json()["access_token"]
    user = sign_up_input(organization_id, password=password)
    await _post(server, SIGN_UP, {"input": user})
    await _post(server, LOG_IN, {"username": user["username"], "password": password})
    await _post(server, LOG_IN, {"username": user["username"], "password": password + "!"})
    await _post(server, "mutation { logOut }", headers=bearer(token))

    stored = repr(await snapshot(engine, organization_id))
    logged = caplog.text

    assert secret not in stored
    assert password not in stored
    assert token not in stored
    assert secret not in logged
    assert password not in logged
    assert token not in logged
    async with server.engine.connect() as conn:
        hashes = (
            (
                await conn.execute(
                    select(t.app_user.c.password_hash).where(t.app_user.c.organization_id == organization_id)
                )
            )
            .scalars()
            .all()
        )
    assert len(hashes) == 1
    assert hashes[0].startswith("$argon2id$")
