"""Every statement of custom states."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

Row = Mapping[Any, Any]
table = t.rma_custom_state


async def add(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(table).values(**values))


async def by_code(conn: AsyncConnection, organization_id: str, code: str) -> Row | None:
    query = select(table).where(table.c.organization_id == organization_id, table.c.code == code)
    return (await conn.execute(query)).mappings().first()


async def all_of(conn: AsyncConnection, organization_id: str) -> list[Row]:
    query = (
        select(table)
        .where(table.c.organization_id == organization_id)
        .order_by(table.c.position, table.c.code)
    )
    return list((await conn.execute(query)).mappings().all())


async def change(conn: AsyncConnection, organization_id: str, code: str, values: Mapping[str, Any]) -> bool:
    result = await conn.execute(
        update(table).where(table.c.organization_id == organization_id, table.c.code == code).values(**values)
    )
    return bool(result.rowcount)


async def remove(conn: AsyncConnection, organization_id: str, code: str) -> bool:
    result = await conn.execute(
        delete(table).where(table.c.organization_id == organization_id, table.c.code == code)
    )
    return bool(result.rowcount)


async def in_use(conn: AsyncConnection, organization_id: str, code: str) -> int:
    """How many of the organization's RMA orders are in the state."""
    rma = t.rma_order
    query = (
        select(rma.c.id).where(rma.c.organization_id == organization_id, rma.c.custom_state == code).limit(1)
    )
    return len((await conn.execute(query)).all())
