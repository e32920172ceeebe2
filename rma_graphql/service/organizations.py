"""Organizations, their API clients, and the demo organization: what the command line and
an administrator manage."""

import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.domain.access import SCOPES, Caller, unknown_scopes
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import ActorType, LocationType
from rma_graphql.service.accounts import (
    DEMO_CLIENT_NAME,
    DEMO_ORGANIZATION_NAME,
    Accounts,
    hash_client_secret,
    organization_exists,
    scope_text,
)
from rma_graphql.service.configurations import CONFIGURATION_DEFAULTS
from rma_graphql.service.unit_of_work import UnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


async def create_organization(
    uow: UnitOfWork, name: str, *, demo: bool = False, conn: AsyncConnection | None = None
) -> str:
    """A new organization with one warehouse location and its default RMA configuration,
    so that it can take returns at once."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise BadUserInputError("An organization name has 1 to 200 characters.", "name")
    if conn is None:
        async with uow.transaction() as own:
            return await create_organization(uow, name, demo=demo, conn=own)
    now = _now()
    organization_id, location_id = str(uuid.uuid4()), str(uuid.uuid4())
    await conn.execute(
        insert(t.organization).values(
            id=organization_id, name=name, last_return_number=1000, demo=demo, created_at=now
        )
    )
    await conn.execute(
        insert(t.location).values(
            id=location_id,
            organization_id=organization_id,
            name="Demo warehouse" if demo else "Main warehouse",
            type=LocationType.WAREHOUSE.value,
            contact=None,
            created_at=now,
        )
    )
    await conn.execute(
        insert(t.rma_configuration).values(
            id=str(uuid.uuid4()),
            organization_id=organization_id,
            location_id=location_id,
            portal_is_active=True,
            created_at=now,
            updated_at=now,
            **CONFIGURATION_DEFAULTS,
        )
    )
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
        if not await organization_exists(conn, organization_id):
            raise BadUserInputError(f"Unknown organization {organization_id}.", "organization")
        await conn.execute(
            insert(t.api_client).values(
                id=client_id,
                organization_id=organization_id,
                name=name,
                secret_hash=hash_client_secret(client_secret),
                scopes=sorted(scopes) if scopes is not None else None,
                created_at=_now(),
            )
        )
    return client_id, client_secret


async def rotate_client_secret(uow: UnitOfWork, client_id: str, secret: str | None = None) -> str:
    client_secret = secret or secrets.token_urlsafe(32)
    async with uow.transaction() as conn:
        await conn.execute(
            update(t.api_client)
            .where(t.api_client.c.id == client_id)
            .values(secret_hash=hash_client_secret(client_secret))
        )
    return client_secret


async def list_clients(uow: UnitOfWork, organization_id: str | None = None) -> list[Mapping[Any, Any]]:
    query = select(t.api_client).order_by(t.api_client.c.created_at, t.api_client.c.id)
    if organization_id is not None:
        query = query.where(t.api_client.c.organization_id == organization_id)
    async with uow.read() as conn:
        return list((await conn.execute(query)).mappings().all())


async def revoke_client(uow: UnitOfWork, client_id: str) -> bool:
    """Revoke an API client: its tokens are refused from now on. False if there is no such client."""
    async with uow.transaction() as conn:
        result = await conn.execute(
            update(t.api_client)
            .where(t.api_client.c.id == client_id, t.api_client.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        if result.rowcount == 0:
            found = await conn.execute(select(t.api_client.c.id).where(t.api_client.c.id == client_id))
            return found.first() is not None
    return True


async def demo_organization_id(conn: AsyncConnection) -> str | None:
    result = await conn.execute(
        select(t.organization.c.id)
        .where(t.organization.c.demo.is_(True))
        .order_by(t.organization.c.created_at)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def demo_client_id(uow: UnitOfWork, organization_id: str) -> str | None:
    async with uow.read() as conn:
        result = await conn.execute(
            select(t.api_client.c.id)
            .where(
                t.api_client.c.organization_id == organization_id,
                t.api_client.c.name == DEMO_CLIENT_NAME,
                t.api_client.c.revoked_at.is_(None),
            )
            .order_by(t.api_client.c.created_at)
            .limit(1)
        )
        return result.scalar_one_or_none()


async def ensure_demo_organization(uow: UnitOfWork) -> str:
    """The demo organization (with its warehouse and configuration), created when missing."""
    async with uow.transaction() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting on one empty database must not both seed it.
            await conn.execute(text("SELECT pg_advisory_xact_lock(4242002)"))
        existing = await demo_organization_id(conn)
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
        stored = (
            await conn.execute(select(t.api_client.c.secret_hash).where(t.api_client.c.id == client_id))
        ).scalar_one()
    if not hmac.compare_digest(stored, hash_client_secret(secret)):
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
