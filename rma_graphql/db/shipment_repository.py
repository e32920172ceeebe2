"""Return shipments and the carrier's scans of them."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t

# How each database names the unique constraint on (shipment, event, date) in its error.
SCAN_CONSTRAINT = ("uq_rma_shipment_event_scan", "rma_shipment_event.shipment_id")


class ShipmentRepository:
    def __init__(self, conn: AsyncConnection, organization_id: str) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def count(self, rma_id: str) -> int:
        found = await self.conn.execute(
            select(func.count()).select_from(t.rma_shipment).where(t.rma_shipment.c.rma_order_id == rma_id)
        )
        return int(found.scalar_one())

    async def add(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(insert(t.rma_shipment).values(organization_id=self.organization_id, **values))

    async def has_scan(self, shipment_id: str, event: str, date: datetime) -> bool:
        existing = await self.conn.execute(
            select(t.rma_shipment_event.c.id).where(
                t.rma_shipment_event.c.shipment_id == shipment_id,
                t.rma_shipment_event.c.event == event,
                t.rma_shipment_event.c.date == date,
            )
        )
        return existing.first() is not None

    async def add_scan(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            insert(t.rma_shipment_event).values(organization_id=self.organization_id, **values)
        )
