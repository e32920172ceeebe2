"""GraphQL for the sales side: products, SKUs and stock, customers, orders."""

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar

import strawberry

from rma_graphql.api.catalog_inputs import (
    CatalogFilterInput,
    CustomerCreateInput,
    CustomerUpdateInput,
    OrderCreateInput,
    OrderFilterInput,
    OrderUpdateInput,
    ProductCreateInput,
    ProductUpdateInput,
    SkuCreateInput,
    SkuUpdateInput,
    customer_values,
    filter_search,
    given,
    required,
    stock_levels,
)
from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import OrderReturnStatus, OrderStatus
from rma_graphql.api.inputs import _utc, parse_uuid, text
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import Location, PageInfo, address_parts
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service import catalog
from rma_graphql.service.currency import to_major
from rma_graphql.service.records import (
    CustomerRecord,
    ProductRecord,
    R,
    SalesOrderRecord,
    SkuRecord,
    SkuStockRecord,
)

# Types


@strawberry.type
class Address:
    address: str | None = None
    address_complement: str | None = None
    city: str | None = None
    zipcode: str | None = None
    country: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Address | None":
        if data is None:
            return None
        return cls(**address_parts(data))


@strawberry.type
class SkuStock:
    quantity: int
    location_id: strawberry.ID
    row: strawberry.Private[SkuStockRecord]

    @strawberry.field
    async def location(self, info: RmaInfo) -> Location:
        found = await context_of(info).loaders.locations.load(self.row.location_id)
        assert found is not None, "a foreign key keeps the location"
        return Location.from_row(found)


@strawberry.type
class Sku:
    id: strawberry.ID
    sku: str
    variation: str | None
    created_at: datetime
    row: strawberry.Private[SkuRecord]

    @classmethod
    def from_row(cls, row: SkuRecord) -> "Sku":
        return cls(
            id=strawberry.ID(row.id),
            sku=row.code,
            variation=row.variation,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field
    async def product(self, info: RmaInfo) -> "Product":
        found = await context_of(info).loaders.products.load(self.row.product_id)
        assert found is not None, "a foreign key keeps the product"
        return Product.from_row(found)

    @strawberry.field(description="Units on hand, per location.")
    async def stock(self, info: RmaInfo) -> list[SkuStock]:
        rows = await context_of(info).loaders.stock_by_sku.load(self.row.id)
        return [SkuStock(quantity=r.quantity, location_id=strawberry.ID(r.location_id), row=r) for r in rows]


@strawberry.type
class Product:
    id: strawberry.ID
    name: str
    description: str | None
    price: float
    currency: str
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[ProductRecord]

    @classmethod
    def from_row(cls, row: ProductRecord) -> "Product":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            price=to_major(row.price, row.currency),
            currency=row.currency,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def skus(self, info: RmaInfo) -> list[Sku]:
        return [Sku.from_row(r) for r in await context_of(info).loaders.skus_by_product.load(self.row.id)]


@strawberry.type
class Customer:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    address: Address | None
    language: str | None = strawberry.field(
        description="What the customer reads (BCP 47); null: the organization's."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: CustomerRecord) -> "Customer":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            email=row.email,
            phone=row.phone,
            address=Address.from_json(row.address),
            language=row.language,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class OrderLine:
    id: strawberry.ID
    sku: str
    label: str
    quantity: int
    unit_price: float


@strawberry.type
class Order:
    id: strawberry.ID
    external_reference: str
    tp_app_id: str | None
    currency: str
    shipping_amount: float
    status: OrderStatus
    ordered_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    return_status: OrderReturnStatus = strawberry.field(
        description="Where the returns of this order stand, from the RMA orders that return its goods."
    )
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[SalesOrderRecord]

    @classmethod
    def from_row(cls, row: SalesOrderRecord) -> "Order":
        return cls(
            id=strawberry.ID(row.id),
            external_reference=row.external_reference,
            tp_app_id=row.tp_app_id,
            currency=row.currency,
            shipping_amount=to_major(row.shipping_amount, row.currency),
            status=OrderStatus(row.status),
            ordered_at=row.ordered_at,
            shipped_at=row.shipped_at,
            delivered_at=row.delivered_at,
            return_status=OrderReturnStatus(row.return_status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def customer(self, info: RmaInfo) -> Customer | None:
        if self.row.customer_id is None:
            return None
        found = await context_of(info).loaders.customers.load(self.row.customer_id)
        assert found is not None, "a foreign key keeps the customer"
        return Customer.from_row(found)

    @strawberry.field
    async def lines(self, info: RmaInfo) -> list[OrderLine]:
        currency = self.row.currency
        return [
            OrderLine(
                id=strawberry.ID(r.id),
                sku=r.sku,
                label=r.label,
                quantity=r.quantity,
                unit_price=to_major(r.unit_price, currency),
            )
            for r in await context_of(info).loaders.lines_by_order.load(self.row.id)
        ]


T = TypeVar("T")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """Named after its node: ``ProductConnection``, ``OrderConnection``…"""

    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo
    # Counted only when a client selects totalCount.
    counted: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.counted()


async def _list(
    info: RmaInfo,
    table: str,
    kind: type[R],
    node: Callable[[R], T],
    f: catalog.CatalogFilter,
    *,
    first: int,
    after: str | None,
) -> Connection[T]:
    """One page of the organization's ``table`` as a connection; its totalCount is counted
    only when selected."""
    ctx = context_of(info)
    page = await catalog.page(ctx.uow, ctx.authenticated, table, kind, f, first=first, after=after)
    nodes = [node(row) for row in page.rows]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        counted=partial(catalog.count, ctx.uow, ctx.authenticated, table, f),
    )


# Inputs


# Operations


async def _found(info: RmaInfo, table: str, kind: type[R], id: str, label: str) -> R:
    row_id = parse_uuid(id, "id")
    row = await catalog.row(context_of(info).uow, context_of(info).authenticated, table, kind, row_id)
    if row is None:
        raise NotFoundError(f"{label} {row_id} not found.", row_id)
    return row


@strawberry.type
class CatalogQuery:
    @strawberry.field(**scoped(access.VIEW_PRODUCTS))
    async def product(self, info: RmaInfo, id: str) -> Product | None:
        return Product.from_row(await _found(info, "products", ProductRecord, id, "Product"))

    @strawberry.field(**scoped(access.VIEW_PRODUCTS))
    async def products(
        self,
        info: RmaInfo,
        filter: CatalogFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Product]:
        f = catalog.CatalogFilter(search=filter_search(filter.search if filter else None))
        return await _list(info, "products", ProductRecord, Product.from_row, f, first=first, after=after)

    @strawberry.field(description="A SKU by its id or by its code.", **scoped(access.VIEW_PRODUCTS))
    async def sku(self, info: RmaInfo, id: str | None = None, sku: str | None = None) -> Sku | None:
        ctx = context_of(info)
        if (id is None) == (sku is None):
            raise BadUserInputError("Give exactly one of id and sku.", "id" if id else "sku")
        if id is not None:
            return Sku.from_row(await _found(info, "skus", SkuRecord, id, "SKU"))
        row = await catalog.sku_by_code(ctx.uow, ctx.authenticated, sku or "")
        if row is None:
            raise NotFoundError(f"SKU {sku!r} not found.", sku)
        return Sku.from_row(row)

    @strawberry.field(**scoped(access.VIEW_CUSTOMERS))
    async def customer(self, info: RmaInfo, id: str) -> Customer | None:
        return Customer.from_row(await _found(info, "customers", CustomerRecord, id, "Customer"))

    @strawberry.field(**scoped(access.VIEW_CUSTOMERS))
    async def customers(
        self,
        info: RmaInfo,
        filter: CatalogFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Customer]:
        f = catalog.CatalogFilter(search=filter_search(filter.search if filter else None))
        return await _list(info, "customers", CustomerRecord, Customer.from_row, f, first=first, after=after)

    @strawberry.field(**scoped(access.VIEW_ORDERS))
    async def order(self, info: RmaInfo, id: str) -> Order | None:
        return Order.from_row(await _found(info, "orders", SalesOrderRecord, id, "Order"))

    @strawberry.field(**scoped(access.VIEW_ORDERS))
    async def orders(
        self, info: RmaInfo, filter: OrderFilterInput | None = None, first: int = 50, after: str | None = None
    ) -> Connection[Order]:
        given = filter or OrderFilterInput()
        f = catalog.CatalogFilter(
            search=filter_search(given.search),
            statuses=tuple(status.value for status in given.status or ()),
            return_statuses=tuple(status.value for status in given.return_status or ()),
            customer_id=parse_uuid(given.customer_id, "filter.customerId") if given.customer_id else None,
            ordered_after=_utc(given.ordered_after, "filter.orderedAfter"),
            ordered_before=_utc(given.ordered_before, "filter.orderedBefore"),
        )
        return await _list(info, "orders", SalesOrderRecord, Order.from_row, f, first=first, after=after)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(**scoped(access.CREATE_PRODUCTS))
    async def product_create(self, info: RmaInfo, input: ProductCreateInput) -> Product:
        ctx = context_of(info)
        text(input.name, "input.name", 200, required=True)
        text(input.description, "input.description", 10_000)
        product_id = await catalog.create_product(
            ctx.uow,
            ctx.authenticated,
            name=input.name,
            description=input.description,
            price=input.price,
            currency=input.currency,
        )
        return Product.from_row(await _found(info, "products", ProductRecord, product_id, "Product"))

    @strawberry.mutation(**scoped(access.EDIT_PRODUCTS))
    async def product_update(self, info: RmaInfo, id: str, input: ProductUpdateInput) -> Product:
        ctx = context_of(info)
        product_id = parse_uuid(id, "id")
        values = given(input, ("name", "description", "price", "currency"))
        for name in ("name", "price", "currency"):
            required(values, name, f"input.{name}")
        text(values.get("name"), "input.name", 200)
        text(values.get("description"), "input.description", 10_000)
        await catalog.update_product(ctx.uow, ctx.authenticated, product_id, values)
        return Product.from_row(await _found(info, "products", ProductRecord, product_id, "Product"))

    @strawberry.mutation(**scoped(access.CREATE_PRODUCTS))
    async def sku_create(self, info: RmaInfo, input: SkuCreateInput) -> Sku:
        ctx = context_of(info)
        text(input.sku, "input.sku", required=True)
        text(input.variation, "input.variation")
        sku_id = await catalog.create_sku(
            ctx.uow,
            ctx.authenticated,
            product_id=parse_uuid(input.product_id, "input.productId"),
            code=input.sku.strip(),
            variation=input.variation,
            stock=stock_levels(input.stock, "input.stock"),
        )
        return Sku.from_row(await _found(info, "skus", SkuRecord, sku_id, "SKU"))

    @strawberry.mutation(
        description="Change a SKU; `stock` sets the quantity at each location given.",
        **scoped(access.EDIT_PRODUCTS),
    )
    async def sku_update(self, info: RmaInfo, id: str, input: SkuUpdateInput) -> Sku:
        ctx = context_of(info)
        sku_id = parse_uuid(id, "id")
        values = given(input, ("variation",))
        text(values.get("variation"), "input.variation")
        stock = None if input.stock is strawberry.UNSET else stock_levels(input.stock, "input.stock")
        await catalog.update_sku(ctx.uow, ctx.authenticated, sku_id, values=values, stock=stock)
        return Sku.from_row(await _found(info, "skus", SkuRecord, sku_id, "SKU"))

    @strawberry.mutation(**scoped(access.CREATE_CUSTOMERS))
    async def customer_create(self, info: RmaInfo, input: CustomerCreateInput) -> Customer:
        ctx = context_of(info)
        customer_id = await catalog.create_customer(
            ctx.uow, ctx.authenticated, customer_values(input, partial=False)
        )
        return Customer.from_row(await _found(info, "customers", CustomerRecord, customer_id, "Customer"))

    @strawberry.mutation(**scoped(access.EDIT_CUSTOMERS))
    async def customer_update(self, info: RmaInfo, id: str, input: CustomerUpdateInput) -> Customer:
        ctx = context_of(info)
        customer_id = parse_uuid(id, "id")
        await catalog.update_customer(
            ctx.uow, ctx.authenticated, customer_id, customer_values(input, partial=True)
        )
        return Customer.from_row(await _found(info, "customers", CustomerRecord, customer_id, "Customer"))

    @strawberry.mutation(**scoped(access.CREATE_ORDERS))
    async def order_create(self, info: RmaInfo, input: OrderCreateInput) -> Order:
        ctx = context_of(info)
        text(input.external_reference, "input.externalReference", required=True)
        text(input.tp_app_id, "input.tpAppId")
        command = catalog.CreateOrder(
            external_reference=input.external_reference,
            lines=[
                catalog.OrderLineCommand(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    label=text(line.label, f"input.lines[{i}].label"),
                )
                for i, line in enumerate(input.lines)
            ],
            currency=input.currency,
            tp_app_id=input.tp_app_id,
            customer_id=parse_uuid(input.customer_id, "input.customerId") if input.customer_id else None,
            shipping_amount=input.shipping_amount,
            status=input.status,
            ordered_at=_utc(input.ordered_at, "input.orderedAt"),
            shipped_at=_utc(input.shipped_at, "input.shippedAt"),
            delivered_at=_utc(input.delivered_at, "input.deliveredAt"),
        )
        order_id = await catalog.create_order(ctx.uow, ctx.authenticated, command)
        return Order.from_row(await _found(info, "orders", SalesOrderRecord, order_id, "Order"))

    @strawberry.mutation(**scoped(access.EDIT_ORDERS))
    async def order_update(self, info: RmaInfo, id: str, input: OrderUpdateInput) -> Order:
        ctx = context_of(info)
        order_id = parse_uuid(id, "id")
        values = given(input, ("status", "customer_id", "shipping_amount", "shipped_at", "delivered_at"))
        required(values, "status", "input.status")
        required(values, "shipping_amount", "input.shippingAmount")
        if values.get("customer_id") is not None:
            values["customer_id"] = parse_uuid(values["customer_id"], "input.customerId")
        for name, path in (("shipped_at", "input.shippedAt"), ("delivered_at", "input.deliveredAt")):
            if name in values:
                values[name] = _utc(values[name], path)
        if "status" in values:
            values["status"] = values["status"].value
        await catalog.update_order(ctx.uow, ctx.authenticated, order_id, values)
        return Order.from_row(await _found(info, "orders", SalesOrderRecord, order_id, "Order"))
