"""An organization's own settings: its row, its locations and their RMA configurations."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

Row = Mapping[Any, Any]


class OrganizationRepository:
    def __init__(self, conn: AsyncConnection, organization_id: str) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def change(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            update(t.organization).where(t.organization.c.id == self.organization_id).values(**values)
        )

    async def add_location(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(insert(t.location).values(organization_id=self.organization_id, **values))

    async def has_location(self, location_id: str) -> bool:
        found = await self.conn.execute(
            select(t.location.c.id).where(
                t.location.c.id == location_id, t.location.c.organization_id == self.organization_id
            )
        )
        return found.first() is not None

    async def change_location(self, location_id: str, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            update(t.location)
            .where(t.location.c.id == location_id, t.location.c.organization_id == self.organization_id)
            .values(**values)
        )

    async def configuration(self, configuration_id: str) -> Row | None:
        result = await self.conn.execute(
            select(t.rma_configuration).where(
                t.rma_configuration.c.id == configuration_id,
                t.rma_configuration.c.organization_id == self.organization_id,
            )
        )
        return result.mappings().first()

    async def is_configured(self, location_id: str) -> bool:
        existing = await self.conn.execute(
            select(t.rma_configuration.c.id).where(t.rma_configuration.c.location_id == location_id)
        )
        return existing.first() is not None

    async def add_configuration(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            insert(t.rma_configuration).values(organization_id=self.organization_id, **values)
        )

    async def change_configuration(self, configuration_id: str, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            update(t.rma_configuration).where(t.rma_configuration.c.id == configuration_id).values(**values)
        )


# History messages


async def history_messages(conn: AsyncConnection, organization_id: str) -> list[Row]:
    """The organization's own texts of history messages, by event type and language."""
    table = t.history_message
    result = await conn.execute(
        select(table.c.event_type, table.c.language, table.c.text).where(
            table.c.organization_id == organization_id
        )
    )
    return list(result.mappings().all())


async def set_history_message(
    conn: AsyncConnection, organization_id: str, event_type: str, language: str, text: str | None
) -> None:
    """Replace (or with None, forget) the organization's text of a message."""
    table = t.history_message
    key = (
        table.c.organization_id == organization_id,
        table.c.event_type == event_type,
        table.c.language == language,
    )
    await conn.execute(delete(table).where(*key))
    if text is not None:
        await conn.execute(
            insert(table).values(
                organization_id=organization_id, event_type=event_type, language=language, text=text
            )
        )
