"""The warehouse's statements: inspections, inventory movements, stock taken for
replacement orders, and what a replacement order reads of the return."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t


class WarehouseRepository:
    """The organization's stock movements and inspections, on one connection."""

    def __init__(self, conn: AsyncConnection, organization_id: str) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def add_inspection(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            insert(t.rma_line_inspection).values(organization_id=self.organization_id, **values)
        )

    async def add_movement(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(
            insert(t.inventory_movement).values(
                id=str(uuid.uuid4()), organization_id=self.organization_id, **values
            )
        )

    async def take_stock(self, sku_id: str, location_id: str, quantity: int) -> bool:
        """Take units out of a location's stock when they are all there (one statement, so
        two concurrent takers never both take the last unit)."""
        stock = t.sku_stock
        taken = await self.conn.execute(
            update(stock)
            .where(stock.c.sku_id == sku_id, stock.c.location_id == location_id, stock.c.quantity >= quantity)
            .values(quantity=stock.c.quantity - quantity)
        )
        return taken.rowcount == 1

    async def stock_at(self, sku_id: str, location_id: str) -> int:
        stock = t.sku_stock
        found = await self.conn.execute(
            select(func.coalesce(func.sum(stock.c.quantity), 0)).where(
                stock.c.sku_id == sku_id, stock.c.location_id == location_id
            )
        )
        return int(found.scalar_one())

    async def replacement_count(self, rma_id: str) -> int:
        count = await self.conn.execute(
            select(func.count())
            .select_from(t.sales_order)
            .where(t.sales_order.c.replacement_for_rma_id == rma_id)
        )
        return int(count.scalar_one())

    async def returning_customer(self, rma_id: str) -> str | None:
        """The customer of the first order the return names that has one."""
        customer = await self.conn.execute(
            select(t.sales_order.c.customer_id)
            .join(t.rma_linked_order, t.rma_linked_order.c.order_id == t.sales_order.c.id)
            .where(t.rma_linked_order.c.rma_order_id == rma_id, t.sales_order.c.customer_id.is_not(None))
            .order_by(t.rma_linked_order.c.position)
            .limit(1)
        )
        found: str | None = customer.scalar_one_or_none()
        return found
