"""Who may call: organizations, API clients, users, revoked tokens and the server's
signing key."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

Row = Mapping[Any, Any]

# Taken while the demo organization is looked for and created: two processes starting on
# one empty PostgreSQL database never both create it (SQLite has one writer at a time).
_DEMO_SEED_LOCK = 4242002


# Organizations


async def add_organization(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(t.organization).values(**values))


async def organization_exists(conn: AsyncConnection, organization_id: str) -> bool:
    result = await conn.execute(select(t.organization.c.id).where(t.organization.c.id == organization_id))
    return result.first() is not None


async def allows_customer_sign_up(conn: AsyncConnection, organization_id: str) -> bool | None:
    """Whether customers may sign up to the organization; None when there is no such one."""
    result = await conn.execute(
        select(t.organization.c.allow_customer_sign_up).where(t.organization.c.id == organization_id)
    )
    allows: bool | None = result.scalar_one_or_none()
    return allows


async def lock_demo_seed(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_xact_lock({_DEMO_SEED_LOCK})"))


async def demo_organization_id(conn: AsyncConnection) -> str | None:
    result = await conn.execute(
        select(t.organization.c.id)
        .where(t.organization.c.demo.is_(True))
        .order_by(t.organization.c.created_at)
        .limit(1)
    )
    found: str | None = result.scalar_one_or_none()
    return found


# API clients


async def add_client(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(t.api_client).values(**values))


async def client(conn: AsyncConnection, client_id: str) -> Row | None:
    result = await conn.execute(select(t.api_client).where(t.api_client.c.id == client_id))
    return result.mappings().first()


async def clients(conn: AsyncConnection, organization_id: str | None) -> list[Row]:
    query = select(t.api_client).order_by(t.api_client.c.created_at, t.api_client.c.id)
    if organization_id is not None:
        query = query.where(t.api_client.c.organization_id == organization_id)
    return list((await conn.execute(query)).mappings().all())


async def set_client_secret_hash(
    conn: AsyncConnection, client_id: str, secret_hash: str, tokens_valid_after: datetime | None = None
) -> None:
    values: dict[str, Any] = {"secret_hash": secret_hash}
    if tokens_valid_after is not None:
        values["tokens_valid_after"] = tokens_valid_after
    await conn.execute(update(t.api_client).where(t.api_client.c.id == client_id).values(**values))


async def client_used(conn: AsyncConnection, client_id: str, now: datetime) -> None:
    await conn.execute(update(t.api_client).where(t.api_client.c.id == client_id).values(last_used_at=now))


async def revoke_client(conn: AsyncConnection, client_id: str, now: datetime) -> bool:
    """Revoke the client unless it is revoked already; whether this call revoked it."""
    result = await conn.execute(
        update(t.api_client)
        .where(t.api_client.c.id == client_id, t.api_client.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


async def named_client_id(conn: AsyncConnection, organization_id: str, name: str) -> str | None:
    """The organization's oldest unrevoked client of this name."""
    result = await conn.execute(
        select(t.api_client.c.id)
        .where(
            t.api_client.c.organization_id == organization_id,
            t.api_client.c.name == name,
            t.api_client.c.revoked_at.is_(None),
        )
        .order_by(t.api_client.c.created_at)
        .limit(1)
    )
    found: str | None = result.scalar_one_or_none()
    return found


# Users


async def add_user(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(t.app_user).values(**values))


async def user_by_username(conn: AsyncConnection, username_key: str) -> Row | None:
    result = await conn.execute(select(t.app_user).where(t.app_user.c.username_key == username_key))
    return result.mappings().first()


async def user(conn: AsyncConnection, organization_id: str, user_id: str) -> Row | None:
    result = await conn.execute(
        select(t.app_user).where(t.app_user.c.id == user_id, t.app_user.c.organization_id == organization_id)
    )
    return result.mappings().first()


async def users(conn: AsyncConnection, organization_id: str) -> list[Row]:
    u = t.app_user.c
    query = select(t.app_user).where(u.organization_id == organization_id).order_by(u.created_at, u.id)
    return list((await conn.execute(query)).mappings().all())


async def change_user(conn: AsyncConnection, user_id: str, values: Mapping[str, Any]) -> None:
    await conn.execute(update(t.app_user).where(t.app_user.c.id == user_id).values(**values))


async def link_customer(conn: AsyncConnection, user_id: str, customer_id: str | None) -> None:
    await conn.execute(update(t.app_user).where(t.app_user.c.id == user_id).values(customer_id=customer_id))


async def customer_with_email(conn: AsyncConnection, organization_id: str, email: str) -> str | None:
    """The oldest catalog customer of the organization with this email, whatever its case."""
    c = t.customer.c
    result = await conn.execute(
        select(c.id)
        .where(c.organization_id == organization_id, func.lower(c.email) == email.casefold())
        .order_by(c.created_at, c.id)
        .limit(1)
    )
    found: str | None = result.scalar_one_or_none()
    return found


async def set_password_hash(conn: AsyncConnection, user_id: str, password_hash: str) -> None:
    await conn.execute(
        update(t.app_user).where(t.app_user.c.id == user_id).values(password_hash=password_hash)
    )


async def active_users_with_email(
    conn: AsyncConnection, email: str, organization_id: str | None
) -> list[Row]:
    """The active users with this email, whatever its case (in one organization, if given)."""
    u = t.app_user.c
    query = select(t.app_user).where(func.lower(u.email) == email.casefold(), u.active.is_(True))
    if organization_id is not None:
        query = query.where(u.organization_id == organization_id)
    return list((await conn.execute(query.order_by(u.created_at, u.id))).mappings().all())


async def add_password_reset(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(t.password_reset).values(**values))


async def use_password_reset(conn: AsyncConnection, token_hash: str, now: datetime) -> Row | None:
    """Mark the reset used, if it is unused and unexpired; its row (None: it is not)."""
    r = t.password_reset.c
    result = await conn.execute(
        update(t.password_reset)
        .where(r.token_hash == token_hash, r.used_at.is_(None), r.expires_at > now)
        .values(used_at=now)
        .returning(r.user_id, r.organization_id)
    )
    return result.mappings().first()


# Tokens


async def principal_exists(
    conn: AsyncConnection,
    organization_id: str,
    subject: str,
    *,
    client: bool,
    customer_id: str | None = None,
    token: tuple[str | None, datetime | None] = (None, None),
) -> bool:
    """Whether a token's subject still stands: an unrevoked API client whose secret was not
    rotated after the token was issued; or an active user, still linked to the catalog
    customer the token names, whose role or password did not change after the token was
    issued (but for the token it kept)."""
    token_id, issued_at = token
    if client:
        c = t.api_client.c
        principal = select(c.id).where(
            c.id == subject,
            c.organization_id == organization_id,
            c.revoked_at.is_(None),
            or_(c.tokens_valid_after.is_(None), c.tokens_valid_after <= issued_at),
        )
    else:
        u = t.app_user.c
        principal = select(u.id).where(
            u.id == subject,
            u.organization_id == organization_id,
            u.active,
            u.customer_id.is_(None) if customer_id is None else u.customer_id == customer_id,
            or_(
                u.tokens_valid_after.is_(None), u.tokens_valid_after <= issued_at, u.kept_token_id == token_id
            ),
        )
    return (await conn.execute(principal)).first() is not None


async def order_exists(conn: AsyncConnection, organization_id: str, order_id: str) -> bool:
    order = t.sales_order.c
    found = await conn.execute(
        select(order.id).where(order.id == order_id, order.organization_id == organization_id)
    )
    return found.first() is not None


async def order_for_lookup(
    conn: AsyncConnection, organization_id: str, reference: str, email: str
) -> Row | None:
    """The organization's order with this reference whose customer has this email (case-folded)."""
    order, customer = t.sales_order.c, t.customer.c
    result = await conn.execute(
        select(order.id, order.customer_id)
        .join(t.customer, customer.id == order.customer_id)
        .where(
            order.organization_id == organization_id,
            order.external_reference == reference,
            func.lower(customer.email) == email.casefold(),
        )
        .order_by(order.created_at, order.id)
        .limit(1)
    )
    return result.mappings().first()


async def is_revoked(conn: AsyncConnection, token_id: str) -> bool:
    revoked = await conn.execute(select(t.revoked_token.c.id).where(t.revoked_token.c.id == token_id))
    return revoked.first() is not None


async def revoke_token(conn: AsyncConnection, token_id: str, expires_at: datetime, now: datetime) -> None:
    await conn.execute(insert(t.revoked_token).values(id=token_id, expires_at=expires_at, revoked_at=now))


async def forget_revoked_before(conn: AsyncConnection, before: datetime) -> None:
    """Revoked tokens that expired before ``before`` need no record: they are refused anyway."""
    await conn.execute(t.revoked_token.delete().where(t.revoked_token.c.expires_at < before))


# The server's own secrets


async def server_secret(conn: AsyncConnection, name: str) -> str | None:
    key = (await conn.execute(select(t.server_secret.c.value).where(t.server_secret.c.name == name))).scalar()
    return None if key is None else str(key)


async def add_server_secret(conn: AsyncConnection, name: str, value: str, now: datetime) -> None:
    await conn.execute(insert(t.server_secret).values(name=name, value=value, created_at=now))
