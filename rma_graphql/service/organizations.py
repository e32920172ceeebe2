"""Organizations, their API clients, and the demo organization: what the command line and
an administrator manage."""

import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import account_repository as store
from rma_graphql.db.engine import Connection
from rma_graphql.db.organization_repository import OrganizationRepository
from rma_graphql.domain.access import SCOPES, Caller, unknown_scopes
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import ActorType, LocationType
from rma_graphql.service.accounts import (
    DEMO_CLIENT_NAME,
    DEMO_ORGANIZATION_NAME,
    Accounts,
    hash_client_secret,
    scope_text,
)
from rma_graphql.service.configurations import CONFIGURATION_DEFAULTS
from rma_graphql.service.notifications import install_defaults
from rma_graphql.service.records import ApiClientRecord, record
from rma_graphql.service.unit_of_work import UnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


async def create_organization(
    uow: UnitOfWork, name: str, *, demo: bool = False, conn: Connection | None = None
) -> str:
    """A new organization with one warehouse location and its default RMA configuration,
    so that it can take returns at once, and the default notifications."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise BadUserInputError("An organization name has 1 to 200 characters.", "name")
    if conn is None:
        async with uow.transaction() as own:
            return await create_organization(uow, name, demo=demo, conn=own)
    now = _now()
    organization_id, location_id = str(uuid.uuid4()), str(uuid.uuid4())
    await store.add_organization(
        conn,
        {"id": organization_id, "name": name, "last_return_number": 1000, "demo": demo, "created_at": now},
    )
    organization = OrganizationRepository(conn, organization_id)
    await organization.add_location(
        {
            "id": location_id,
            "name": "Demo warehouse" if demo else "Main warehouse",
            "type": LocationType.WAREHOUSE.value,
            "contact": None,
            "created_at": now,
        }
    )
    await organization.add_configuration(
        {
            "id": str(uuid.uuid4()),
            "location_id": location_id,
            "portal_is_active": True,
            "created_at": now,
            "updated_at": now,
            **CONFIGURATION_DEFAULTS,
        }
    )
    await install_defaults(conn, organization_id)
    return organization_id


def validate_scopes(scopes: frozenset[str] | None, field: str = "scopes") -> None:
    if scopes is not None and (unknown := unknown_scopes(scopes)):
        raise BadUserInputError(
            f"Unknown scope: {', '.join(unknown)}. Known scopes: {scope_text(SCOPES)}.", field
        )


async def create_client(
    uow: UnitOfWork,
    organization_id: str,
    *,
    name: str = "API client",
    scopes: frozenset[str] | None = None,
    secret: str | None = None,
) -> tuple[str, str]:
    """A new API client: its ``client_id`` and ``client_secret`` (shown once, kept hashed)."""
    validate_scopes(scopes)
    client_id = "rma_" + secrets.token_hex(12)
    client_secret = secret or secrets.token_urlsafe(32)
    async with uow.transaction() as conn:
        if not await store.organization_exists(conn, organization_id):
            raise BadUserInputError(f"Unknown organization {organization_id}.", "organization")
        await store.add_client(
            conn,
            {
                "id": client_id,
                "organization_id": organization_id,
                "name": name,
                "secret_hash": hash_client_secret(client_secret),
                "scopes": sorted(scopes) if scopes is not None else None,
                "created_at": _now(),
            },
        )
    return client_id, client_secret


async def rotate_client_secret(uow: UnitOfWork, client_id: str, secret: str | None = None) -> str:
    """A new secret for the client; the old one and the tokens issued before now are refused."""
    client_secret = secret or secrets.token_urlsafe(32)
    async with uow.transaction() as conn:
        await store.set_client_secret_hash(conn, client_id, hash_client_secret(client_secret), _now())
    return client_secret


async def client_of(uow: UnitOfWork, organization_id: str, client_id: str) -> ApiClientRecord | None:
    """The organization's API client with this id (another organization's is none)."""
    async with uow.read() as conn:
        found = await store.client(conn, client_id)
    if found is None or found["organization_id"] != organization_id:
        return None
    return record(ApiClientRecord, found)


async def list_clients(uow: UnitOfWork, organization_id: str | None = None) -> list[Mapping[Any, Any]]:
    async with uow.read() as conn:
        return await store.clients(conn, organization_id)


async def revoke_client(uow: UnitOfWork, client_id: str) -> bool:
    """Revoke an API client: its tokens are refused from now on. False if there is no such client."""
    async with uow.transaction() as conn:
        if await store.revoke_client(conn, client_id, _now()):
            return True
        return await store.client(conn, client_id) is not None


async def demo_organization_id(uow: UnitOfWork) -> str | None:
    """The demo organization, if the database has one."""
    async with uow.read() as conn:
        return await store.demo_organization_id(conn)


async def demo_client_id(uow: UnitOfWork, organization_id: str) -> str | None:
    async with uow.read() as conn:
        return await store.named_client_id(conn, organization_id, DEMO_CLIENT_NAME)


async def ensure_demo_organization(uow: UnitOfWork) -> str:
    """The demo organization (with its warehouse and configuration), created when missing."""
    async with uow.transaction() as conn:
        await store.lock_demo_seed(conn)  # two processes starting on one empty database
        existing = await store.demo_organization_id(conn)
        if existing is not None:
            return existing
        return await create_organization(uow, DEMO_ORGANIZATION_NAME, demo=True, conn=conn)


async def demo_credentials(uow: UnitOfWork, organization_id: str, accounts: Accounts) -> tuple[str, str]:
    """The demo API client's id and secret. The secret is derived from the server's signing
    key, so every start prints the same one: a second start never breaks the credentials
    a running server, a script or a GraphiQL tab already uses."""
    secret = accounts.sign(f"demo-client-secret:{organization_id}")
    client_id = await demo_client_id(uow, organization_id)
    if client_id is None:
        return await create_client(uow, organization_id, name=DEMO_CLIENT_NAME, secret=secret)
    async with uow.read() as conn:
        client = await store.client(conn, client_id)
    assert client is not None
    if not hmac.compare_digest(client["secret_hash"], hash_client_secret(secret)):
        # Only when the signing key changed (RMA_TOKEN_SECRET set or changed).
        await rotate_client_secret(uow, client_id, secret)
    return client_id, secret


def admin_caller(organization_id: str) -> Caller:
    """Every scope in one organization: the caller when authentication is switched off."""
    return Caller(
        organization_id=organization_id,
        actor={"type": ActorType.API_CLIENT.value, "id": None, "name": "unauthenticated"},
        scopes=SCOPES,
    )
