"""The sales side's statements: products, SKUs and their stock, customers, orders and their
lines, each scoped to one organization."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import rma_reads
from rma_graphql.db import tables as t
from rma_graphql.db.rma_reads import KeysetRows, keyset_rows
from rma_graphql.domain.criteria import CatalogFilter

Row = Mapping[Any, Any]

TABLES: dict[str, Table] = {
    "products": t.product,
    "customers": t.customer,
    "orders": t.sales_order,
    "skus": t.sku,
    "locations": t.location,
}
_CHILDREN = {
    "skus_by_product": (t.sku, t.sku.c.product_id, (t.sku.c.created_at, t.sku.c.id)),
    "stock_by_sku": (t.sku_stock, t.sku_stock.c.sku_id, (t.sku_stock.c.location_id,)),
    "lines_by_order": (t.sales_order_line, t.sales_order_line.c.order_id, (t.sales_order_line.c.position,)),
}


async def upsert_stock(
    conn: AsyncConnection,
    organization_id: str,
    sku_id: str,
    location_id: str,
    quantity: int,
    *,
    add: bool = False,
) -> None:
    """Set (or with ``add``, add to) a SKU's stock at a location, creating the row when there
    is none, in one statement: two writers of a new row never both insert it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(t.sku_stock).values(
        sku_id=sku_id, location_id=location_id, organization_id=organization_id, quantity=quantity
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["sku_id", "location_id"],
            set_={"quantity": t.sku_stock.c.quantity + quantity if add else statement.excluded.quantity},
        )
    )


async def children(conn: AsyncConnection, relation: str, keys: Sequence[str]) -> list[list[Row]]:
    """Rows of a relation for each key, in one query (the DataLoaders' batch)."""
    table, column, order = _CHILDREN[relation]
    result = await conn.execute(select(table).where(column.in_(keys)).order_by(*order))
    grouped: dict[str, list[Row]] = {key: [] for key in keys}
    for found in result.mappings():
        grouped[found[column.name]].append(found)
    return [grouped[key] for key in keys]


def _conditions(table: Table, organization_id: str, f: CatalogFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.organization_id == organization_id]
    if f.search:
        conditions.append(table.c.search_text.contains(f.search.casefold(), autoescape=True))
    if table is t.sales_order:
        c = t.sales_order.c
        if f.statuses:
            conditions.append(c.status.in_(f.statuses))
        if f.return_statuses:
            conditions.append(c.return_status.in_(f.return_statuses))
        if f.customer_id is not None:
            conditions.append(c.customer_id == f.customer_id)
        if f.order_id is not None:
            conditions.append(c.id == f.order_id)
        if f.ordered_after is not None:
            conditions.append(c.ordered_at >= f.ordered_after)
        if f.ordered_before is not None:
            conditions.append(c.ordered_at < f.ordered_before)
    return conditions


class CatalogRepository:
    """The organization's catalog, customers and orders, on one connection."""

    def __init__(self, conn: AsyncConnection, organization_id: str) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def row(self, kind: str, row_id: str) -> Row | None:
        table = TABLES[kind]
        result = await self.conn.execute(
            select(table).where(table.c.id == row_id, table.c.organization_id == self.organization_id)
        )
        return result.mappings().first()

    async def add(self, kind: str, values: Mapping[str, Any]) -> None:
        await self.conn.execute(insert(TABLES[kind]).values(organization_id=self.organization_id, **values))

    async def change(self, kind: str, row_id: str, values: Mapping[str, Any]) -> None:
        table = TABLES[kind]
        await self.conn.execute(update(table).where(table.c.id == row_id).values(**values))

    async def set_stock(self, sku_id: str, location_id: str, quantity: int) -> None:
        await upsert_stock(self.conn, self.organization_id, sku_id, location_id, quantity)

    async def sku_by_code(self, code: str) -> Row | None:
        result = await self.conn.execute(
            select(t.sku).where(t.sku.c.organization_id == self.organization_id, t.sku.c.code == code)
        )
        return result.mappings().first()

    async def order_id_by_reference(self, tp_app_id: str | None, external_reference: str) -> str | None:
        result = await self.conn.execute(
            select(t.sales_order.c.id).where(
                t.sales_order.c.organization_id == self.organization_id,
                t.sales_order.c.tp_app_key == (tp_app_id or ""),
                t.sales_order.c.external_reference == external_reference,
            )
        )
        return result.scalar_one_or_none()

    async def skus_with_products(self, codes: Iterable[str]) -> dict[str, Row]:
        """The SKUs of these codes, each with its product's name, price and currency."""
        result = await self.conn.execute(
            select(t.sku, t.product.c.name, t.product.c.price, t.product.c.currency.label("product_currency"))
            .join(t.product, t.product.c.id == t.sku.c.product_id)
            .where(t.sku.c.organization_id == self.organization_id, t.sku.c.code.in_(sorted(codes)))
        )
        return {row["code"]: row for row in result.mappings()}

    async def add_order_lines(self, lines: Sequence[Mapping[str, Any]]) -> None:
        await self.conn.execute(insert(t.sales_order_line), list(lines))

    async def page(
        self, kind: str, f: CatalogFilter, *, first: int, after: tuple[Any, str] | None
    ) -> KeysetRows:
        table = TABLES[kind]
        conditions = _conditions(table, self.organization_id, f)
        return await keyset_rows(self.conn, table, conditions, first=first, after=after)

    async def count(self, kind: str, f: CatalogFilter) -> int:
        table = TABLES[kind]
        return await rma_reads.count(self.conn, table, _conditions(table, self.organization_id, f))

    async def add_stock(self, sku_id: str, location_id: str, quantity: int) -> None:
        await upsert_stock(self.conn, self.organization_id, sku_id, location_id, quantity, add=True)
