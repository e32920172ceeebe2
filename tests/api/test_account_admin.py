"""An administrator's accounts: API clients (listed with their last use, revoked, their
secret rotated), users (listed, their role changed, deactivated), and a user's own password
change; each ends exactly the tokens it should, and a refusal changes nothing."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.domain.access import Role
from rma_graphql.service.organizations import create_client
from tests.api.test_access import user_token
from tests.conftest import GraphQLClient
from tests.helpers import LOG_IN, bearer, snapshot

Endpoint = tuple[str, httpx.AsyncBaseTransport | None]
CLIENTS = "{ apiClients { id name scopes revokedAt lastUsedAt } }"
USERS = "{ users { id username role active } }"
ROTATE = "mutation($id: String!) { apiClientRotateSecret(id: $id) { secret client { id revokedAt } } }"
REVOKE = "mutation($id: String!) { apiClientRevoke(id: $id) { id revokedAt } }"
UPDATE = "mutation($id: String!, $role: UserRole, $active: Boolean) { userUpdate(id: $id, role: $role, active: $active) { id role active } }"
PASSWORD = "mutation($current: String!, $new: String!) { passwordChange(current: $current, new: $new) }"
VIEWER = "{ viewer { role } }"


def _http(endpoint: Endpoint, token: str | None = None) -> httpx.AsyncClient:
    base_url, transport = endpoint
    return httpx.AsyncClient(
        base_url=base_url, transport=transport, headers=bearer(token) if token else {}, timeout=30
    )


async def _token(endpoint: Endpoint, client_id: str, secret: str) -> httpx.Response:
    async with _http(endpoint) as http:
        return await http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )


async def _status(endpoint: Endpoint, token: str) -> int:
    async with _http(endpoint, token) as http:
        return (await http.post("/graphql", json={"query": VIEWER})).status_code


async def _log_in(endpoint: Endpoint, username: str, password: str) -> dict[str, Any]:
    async with _http(endpoint) as http:
        body: dict[str, Any] = (
            await http.post(
                "/graphql", json={"query": LOG_IN, "variables": {"username": username, "password": password}}
            )
        ).json()
    return body


async def test_clients_are_listed_rotated_and_revoked(
    app: Starlette, endpoint: Endpoint, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    client_id, secret = await create_client(app.state.uow, organization_id, name="storefront")
    listed = {c["id"]: c for c in (await gql.data(CLIENTS))["apiClients"]}
    assert listed[client_id] == {
        "id": client_id,
        "name": "storefront",
        "scopes": None,
        "revokedAt": None,
        "lastUsedAt": None,
    }

    old = (await _token(endpoint, client_id, secret)).json()["access_token"]
    used = {c["id"]: c for c in (await gql.data(CLIENTS))["apiClients"]}[client_id]["lastUsedAt"]
    assert used is not None
    assert await _status(endpoint, old) == 200

    rotated = (await gql.data(ROTATE, {"id": client_id}))["apiClientRotateSecret"]
    assert rotated["client"] == {"id": client_id, "revokedAt": None}
    new_secret = rotated["secret"]
    assert new_secret != secret
    # The old secret and the token it gave are refused; the new secret works.
    assert (await _token(endpoint, client_id, secret)).status_code == 401
    assert await _status(endpoint, old) == 401
    new = (await _token(endpoint, client_id, new_secret)).json()["access_token"]
    assert await _status(endpoint, new) == 200

    revoked = (await gql.data(REVOKE, {"id": client_id}))["apiClientRevoke"]
    assert revoked["revokedAt"] is not None
    assert await _status(endpoint, new) == 401
    assert (await _token(endpoint, client_id, new_secret)).status_code == 401

    # Another organization's client, or a revoked one to rotate: refused, nothing changed.
    other_org_client, _ = await create_client(app.state.uow, (await _other_organization(app)), name="theirs")
    before = await snapshot(engine, organization_id)
    assert (await gql.error(REVOKE, {"id": other_org_client}))["extensions"]["code"] == "NOT_FOUND"
    assert (await gql.error(ROTATE, {"id": client_id}))["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "id",
    }
    assert await snapshot(engine, organization_id) == before


async def _other_organization(app: Starlette) -> str:
    from rma_graphql.service.organizations import create_organization

    return await create_organization(app.state.uow, "Another shop")


async def test_users_change_role_and_are_deactivated(
    app: Starlette, endpoint: Endpoint, gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    agent_token = await user_token(endpoint, app, organization_id, "agnes", Role.AGENT)
    customer_token = await user_token(endpoint, app, organization_id, "carl", Role.CUSTOMER)
    listed = {u["username"].split("-")[0]: u for u in (await gql.data(USERS))["users"]}
    agent, customer = listed["agnes"], listed["carl"]
    assert (agent["role"], agent["active"]) == ("AGENT", True)

    promoted = (await gql.data(UPDATE, {"id": agent["id"], "role": "ADMIN"}))["userUpdate"]
    assert promoted == {"id": agent["id"], "role": "ADMIN", "active": True}
    # The token named the old role: it ends; a new log-in is an ADMIN.
    assert await _status(endpoint, agent_token) == 401
    again = (await _log_in(endpoint, agent["username"], "correct horse"))["data"]["logIn"]
    assert again["user"]["role"] == "ADMIN"

    before = await snapshot(engine, organization_id)
    refused = await gql.error(UPDATE, {"id": customer["id"], "role": "AGENT"})
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "role"}
    async with _http(endpoint, again["token"]) as http:
        own = (
            await http.post(
                "/graphql", json={"query": UPDATE, "variables": {"id": agent["id"], "active": False}}
            )
        ).json()
    assert own["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    async with _http(endpoint, customer_token) as http:
        forbidden = (
            await http.post(
                "/graphql", json={"query": UPDATE, "variables": {"id": agent["id"], "active": False}}
            )
        ).json()
    assert forbidden["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "requiredScope": "edit_organizations",
    }
    assert await snapshot(engine, organization_id) == before

    deactivated = (await gql.data(UPDATE, {"id": customer["id"], "active": False}))["userUpdate"]
    assert deactivated["active"] is False
    assert await _status(endpoint, customer_token) == 401
    refused_log_in = await _log_in(endpoint, customer["username"], "correct horse")
    assert refused_log_in["errors"][0]["message"] == "This account is disabled."
    await gql.data(UPDATE, {"id": customer["id"], "active": True})
    assert "token" in (await _log_in(endpoint, customer["username"], "correct horse"))["data"]["logIn"]


async def test_a_password_change_keeps_this_token_and_ends_the_others(
    app: Starlette, endpoint: Endpoint, organization_id: str, engine: AsyncEngine
) -> None:
    this = await user_token(endpoint, app, organization_id, "paula", Role.AGENT)
    username = f"paula-{organization_id[:8]}"
    other = (await _log_in(endpoint, username, "correct horse"))["data"]["logIn"]["token"]

    async with _http(endpoint, this) as http:
        before = await snapshot(engine, organization_id)
        wrong = (
            await http.post(
                "/graphql",
                json={"query": PASSWORD, "variables": {"current": "nope nope", "new": "a new horse"}},
            )
        ).json()
        short = (
            await http.post(
                "/graphql",
                json={"query": PASSWORD, "variables": {"current": "correct horse", "new": "short"}},
            )
        ).json()
        assert await snapshot(engine, organization_id) == before
        changed = (
            await http.post(
                "/graphql",
                json={"query": PASSWORD, "variables": {"current": "correct horse", "new": "a new horse"}},
            )
        ).json()
    assert wrong["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "current"}
    assert short["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "new"}
    assert changed == {"data": {"passwordChange": True}}
    assert await _status(endpoint, this) == 200
    assert await _status(endpoint, other) == 401
    assert (await _log_in(endpoint, username, "correct horse"))["errors"][0][
        "message"
    ] == "Invalid username or password."
    assert "token" in (await _log_in(endpoint, username, "a new horse"))["data"]["logIn"]

    # An API client has no password.
    client = (await _token(endpoint, *(await create_client(app.state.uow, organization_id)))).json()[
        "access_token"
    ]
    async with _http(endpoint, client) as http:
        refused = (
            await http.post(
                "/graphql", json={"query": PASSWORD, "variables": {"current": "x" * 8, "new": "y" * 8}}
            )
        ).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
