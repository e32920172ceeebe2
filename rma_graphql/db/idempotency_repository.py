"""The statements of idempotency keys."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import conflict_insert

k = t.idempotency_key


def _this(organization_id: str, principal: str, key: str) -> Any:
    return and_(k.c.organization_id == organization_id, k.c.principal == principal, k.c.key == key)


async def find(
    conn: AsyncConnection, organization_id: str, principal: str, key: str, now: datetime
) -> Mapping[str, Any] | None:
    """The key's row, unless it has expired."""
    query = select(k).where(_this(organization_id, principal, key), k.c.expires_at > now)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else dict(row)


async def claim(conn: AsyncConnection, values: Mapping[str, Any], now: datetime) -> bool:
    """Record the key, unless a request holds it already (then False). On PostgreSQL a
    concurrent transaction recording the same key makes this one wait until it ends."""
    this = _this(values["organization_id"], values["principal"], values["key"])
    await conn.execute(delete(k).where(this, k.c.expires_at <= now))
    statement = conflict_insert(conn.dialect.name)(k).values(**values).on_conflict_do_nothing()
    return bool((await conn.execute(statement)).rowcount == 1)


async def record_versions(
    conn: AsyncConnection, organization_id: str, principal: str, key: str, versions: Mapping[str, int]
) -> None:
    await conn.execute(
        update(k).where(_this(organization_id, principal, key)).values(versions=dict(versions))
    )


async def record_response(
    conn: AsyncConnection, organization_id: str, principal: str, key: str, response: bytes
) -> None:
    """Keep the answer (the first one kept stays)."""
    await conn.execute(
        update(k)
        .where(_this(organization_id, principal, key), k.c.response.is_(None))
        .values(response=response)
    )


async def purge(conn: AsyncConnection, now: datetime) -> int:
    """Forget the keys that have expired."""
    return int((await conn.execute(delete(k).where(k.c.expires_at <= now))).rowcount or 0)
