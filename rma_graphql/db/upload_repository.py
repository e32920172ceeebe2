"""The statements of uploads."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t


async def add(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(t.upload).values(**values))
