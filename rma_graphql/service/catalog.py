"""The sales side: products, SKUs with their stock per location, customers and their orders.

Every function takes the values already converted at the API edge (amounts in major units,
converted here with the currency) and the GraphQL path of each input for its errors.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import catalog_repository
from rma_graphql.db.catalog_repository import CatalogRepository
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.criteria import CatalogFilter as CatalogFilter  # the API builds it
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.statuses import OrderStatus
from rma_graphql.service.currency import to_minor, validate_currency
from rma_graphql.service.queries import Page, check_first, decode_cursor, page_of
from rma_graphql.service.records import R, SkuRecord, record, records
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]
MAX_STOCK = 10**9


def _now() -> datetime:
    return datetime.now(UTC)


def search_text(*parts: str | None) -> str:
    return "\n".join(part.casefold() for part in parts if part)


async def _owned(catalog: CatalogRepository, kind: str, row_id: str, name: str) -> Row:
    """The row an operation addresses: unknown or another organization's is NOT_FOUND."""
    row = await catalog.row(kind, row_id)
    if row is None:
        raise NotFoundError(f"{name} {row_id} not found.", row_id)
    return row


async def _reference(catalog: CatalogRepository, kind: str, row_id: str, name: str, path: str) -> Row:
    """A row an input points at: unknown or another organization's is bad input, not NOT_FOUND."""
    row = await catalog.row(kind, row_id)
    if row is None:
        raise BadUserInputError(f"Unknown {name} {row_id}.", path)
    return row


# Products and SKUs


async def create_product(
    uow: UnitOfWork, caller: Caller, *, name: str, description: str | None, price: float, currency: str
) -> str:
    currency = validate_currency(currency, "input.currency")
    product_id = str(uuid.uuid4())
    now = _now()
    async with uow.transaction() as conn:
        await CatalogRepository(conn, caller.organization_id).add(
            "products",
            {
                "id": product_id,
                "name": name,
                "description": description,
                "price": to_minor(price, currency, "input.price"),
                "currency": currency,
                "search_text": search_text(name, description),
                "created_at": now,
                "updated_at": now,
            },
        )
    return product_id


async def update_product(uow: UnitOfWork, caller: Caller, product_id: str, values: dict[str, Any]) -> None:
    async with uow.transaction() as conn:
        catalog = CatalogRepository(conn, caller.organization_id)
        row = await _owned(catalog, "products", product_id, "Product")
        currency = (
            validate_currency(values["currency"], "input.currency")
            if "currency" in values
            else row["currency"]
        )
        columns = dict(values)
        if "currency" in columns:
            columns["currency"] = currency
        if "price" in columns:
            columns["price"] = to_minor(columns["price"], currency, "input.price")
        merged = {**row, **columns}
        columns["search_text"] = search_text(merged["name"], merged["description"])
        await catalog.change("products", product_id, {"updated_at": _now(), **columns})


@dataclass
class StockLevel:
    location_id: str
    quantity: int


async def _set_stock(catalog: CatalogRepository, sku_id: str, stock: Sequence[StockLevel], path: str) -> None:
    seen: set[str] = set()
    for i, level in enumerate(stock):
        if level.location_id in seen:
            raise BadUserInputError("A location appears twice.", f"{path}[{i}].locationId")
        seen.add(level.location_id)
        if not 0 <= level.quantity <= MAX_STOCK:
            raise BadUserInputError(
                f"A stock quantity is between 0 and {MAX_STOCK}.", f"{path}[{i}].quantity"
            )
        await _reference(catalog, "locations", level.location_id, "location", f"{path}[{i}].locationId")
        await catalog.set_stock(sku_id, level.location_id, level.quantity)


async def create_sku(
    uow: UnitOfWork,
    caller: Caller,
    *,
    product_id: str,
    code: str,
    variation: str | None,
    stock: Sequence[StockLevel],
) -> str:
    sku_id = str(uuid.uuid4())
    taken = BadUserInputError(f"The SKU {code!r} already exists.", "input.sku")
    try:
        async with uow.transaction() as conn:
            catalog = CatalogRepository(conn, caller.organization_id)
            await _reference(catalog, "products", product_id, "product", "input.productId")
            if await catalog.sku_by_code(code) is not None:
                raise taken
            await catalog.add(
                "skus",
                {
                    "id": sku_id,
                    "product_id": product_id,
                    "code": code,
                    "variation": variation,
                    "created_at": _now(),
                },
            )
            await _set_stock(catalog, sku_id, stock, "input.stock")
    except DuplicateRowError:
        raise taken from None  # a concurrent create took the code between the check and the insert
    return sku_id


async def update_sku(
    uow: UnitOfWork,
    caller: Caller,
    sku_id: str,
    *,
    values: dict[str, Any],
    stock: Sequence[StockLevel] | None,
) -> None:
    """Change a SKU's variation, and set its stock at the locations given (others keep theirs)."""
    async with uow.transaction() as conn:
        catalog = CatalogRepository(conn, caller.organization_id)
        await _owned(catalog, "skus", sku_id, "SKU")
        if values:
            await catalog.change("skus", sku_id, values)
        if stock is not None:
            await _set_stock(catalog, sku_id, stock, "input.stock")


# Customers


async def create_customer(uow: UnitOfWork, caller: Caller, values: dict[str, Any]) -> str:
    customer_id = str(uuid.uuid4())
    now = _now()
    async with uow.transaction() as conn:
        await CatalogRepository(conn, caller.organization_id).add(
            "customers",
            {
                "id": customer_id,
                "search_text": search_text(values["name"], values.get("email"), values.get("phone")),
                "created_at": now,
                "updated_at": now,
                **values,
            },
        )
    return customer_id


async def update_customer(uow: UnitOfWork, caller: Caller, customer_id: str, values: dict[str, Any]) -> None:
    async with uow.transaction() as conn:
        catalog = CatalogRepository(conn, caller.organization_id)
        row = await _owned(catalog, "customers", customer_id, "Customer")
        merged = {**row, **values}
        await catalog.change(
            "customers",
            customer_id,
            {
                "updated_at": _now(),
                "search_text": search_text(merged["name"], merged["email"], merged["phone"]),
                **values,
            },
        )


# Orders


@dataclass
class OrderLineCommand:
    sku: str
    quantity: int
    unit_price: float | None = None
    label: str | None = None


@dataclass
class CreateOrder:
    external_reference: str
    lines: list[OrderLineCommand]
    currency: str
    tp_app_id: str | None = None
    customer_id: str | None = None
    shipping_amount: float = 0
    status: OrderStatus = OrderStatus.PENDING
    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _check_dates(
    status: str, ordered_at: datetime, shipped_at: datetime | None, delivered_at: datetime | None
) -> None:
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and shipped_at is None:
        raise BadUserInputError(f"An order that is {status} needs shippedAt.", "input.shippedAt")
    if status == OrderStatus.DELIVERED and delivered_at is None:
        raise BadUserInputError("A DELIVERED order needs deliveredAt.", "input.deliveredAt")
    if shipped_at is not None and shipped_at < ordered_at:
        raise BadUserInputError("An order cannot ship before it was placed.", "input.shippedAt")
    if delivered_at is not None and (shipped_at is None or delivered_at < shipped_at):
        raise BadUserInputError("An order is delivered after it shipped.", "input.deliveredAt")


async def create_order(uow: UnitOfWork, caller: Caller, command: CreateOrder) -> str:
    currency = validate_currency(command.currency, "input.currency")
    if not command.lines:
        raise BadUserInputError("An order has at least one line.", "input.lines")
    now = _now()
    ordered_at = command.ordered_at or now
    _check_dates(command.status, ordered_at, command.shipped_at, command.delivered_at)
    order_id = str(uuid.uuid4())
    duplicate = BadUserInputError(
        "An order with this externalReference and tpAppId already exists.", "input.externalReference"
    )
    try:
        async with uow.transaction() as conn:
            catalog = CatalogRepository(conn, caller.organization_id)
            if command.customer_id is not None:
                await _reference(catalog, "customers", command.customer_id, "customer", "input.customerId")
            found = await catalog.order_id_by_reference(command.tp_app_id, command.external_reference)
            if found is not None:
                duplicate.details["existingId"] = found
                raise duplicate
            lines = await order_lines(catalog, order_id, command.lines, currency)
            await catalog.add(
                "orders",
                {
                    "id": order_id,
                    "external_reference": command.external_reference,
                    "tp_app_id": command.tp_app_id,
                    "tp_app_key": command.tp_app_id or "",
                    "customer_id": command.customer_id,
                    "currency": currency,
                    "shipping_amount": to_minor(command.shipping_amount, currency, "input.shippingAmount"),
                    "status": command.status.value,
                    "ordered_at": ordered_at,
                    "shipped_at": command.shipped_at,
                    "delivered_at": command.delivered_at,
                    "search_text": search_text(command.external_reference, *(line["sku"] for line in lines)),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            await catalog.add_order_lines(lines)
    except DuplicateRowError:
        raise duplicate from None  # a concurrent create took the reference
    return order_id


async def order_lines(
    catalog: CatalogRepository,
    order_id: str,
    commands: list[OrderLineCommand],
    currency: str,
    path: str = "input.lines",
) -> list[dict[str, Any]]:
    skus = await catalog.skus_with_products({line.sku for line in commands})
    lines = []
    for i, line in enumerate(commands):
        line_path = f"{path}[{i}]"
        sku = skus.get(line.sku)
        if sku is None:
            raise BadUserInputError(f"Unknown SKU {line.sku!r}.", f"{line_path}.sku")
        if line.quantity <= 0:
            raise BadUserInputError("A quantity is at least 1.", f"{line_path}.quantity")
        if line.unit_price is not None:
            unit_price = to_minor(line.unit_price, currency, f"{line_path}.unitPrice")
        elif sku["product_currency"] == currency:
            unit_price = sku["price"]  # the catalog price when the order names none
        else:
            raise BadUserInputError(
                f"The product is priced in {sku['product_currency']}: give unitPrice in {currency}.",
                f"{line_path}.unitPrice",
            )
        label = line.label or " ".join(part for part in (sku["name"], sku["variation"]) if part)
        lines.append(
            {
                "id": str(uuid.uuid4()),
                "organization_id": catalog.organization_id,
                "order_id": order_id,
                "position": i,
                "sku_id": sku["id"],
                "sku": sku["code"],
                "label": label[:255],
                "quantity": line.quantity,
                "unit_price": unit_price,
            }
        )
    return lines


async def update_order(uow: UnitOfWork, caller: Caller, order_id: str, values: dict[str, Any]) -> None:
    """Change an order's status, dates, customer or shipping amount (its lines stay as sold)."""
    async with uow.transaction() as conn:
        catalog = CatalogRepository(conn, caller.organization_id)
        row = await _owned(catalog, "orders", order_id, "Order")
        columns = dict(values)
        if columns.get("customer_id") is not None:
            await _reference(catalog, "customers", columns["customer_id"], "customer", "input.customerId")
        if "shipping_amount" in columns:
            columns["shipping_amount"] = to_minor(
                columns["shipping_amount"], row["currency"], "input.shippingAmount"
            )
        if "status" in columns:
            columns["status"] = OrderStatus(columns["status"]).value
        merged = {**row, **columns}
        _check_dates(merged["status"], merged["ordered_at"], merged["shipped_at"], merged["delivered_at"])
        await catalog.change("orders", order_id, {"updated_at": _now(), **columns})


# Reads


# No customer has this id: a customer linked to none sees no order.
NO_CUSTOMER = "00000000-0000-0000-0000-000000000000"


def _seen_by(caller: Caller, table: str, f: CatalogFilter) -> CatalogFilter:
    """The filter narrowed to what the caller sees: a customer, its own orders only."""
    if table != "orders" or caller.role is not Role.CUSTOMER:
        return f
    own = caller.catalog_customer_id or NO_CUSTOMER
    narrowed = replace(f, customer_id=own if f.customer_id in (None, own) else NO_CUSTOMER)
    return narrowed if caller.order_id is None else replace(narrowed, order_id=caller.order_id)


async def row(uow: UnitOfWork, caller: Caller, table: str, kind: type[R], row_id: str) -> R | None:
    """The organization's row of ``table`` (products, customers, orders, skus) with this id;
    a customer's own orders only."""
    async with uow.read() as conn:
        found = await CatalogRepository(conn, caller.organization_id).row(table, row_id)
    if found is None or (table == "orders" and not caller.sees_order(found["id"], found["customer_id"])):
        return None
    return record(kind, found)


async def page(
    uow: UnitOfWork,
    caller: Caller,
    table: str,
    kind: type[R],
    f: CatalogFilter,
    *,
    first: int,
    after: str | None,
) -> Page[R]:
    check_first(first)
    sort = "CREATED_AT_DESC"
    position = decode_cursor(sort, after)
    async with uow.read() as conn:
        found = await CatalogRepository(conn, caller.organization_id).page(
            table, _seen_by(caller, table, f), first=first, after=position
        )
    return page_of(found, kind, sort, after=after)


async def count(uow: UnitOfWork, caller: Caller, table: str, f: CatalogFilter) -> int:
    """How many rows of ``table`` the filter matches (asked only when a client selects it)."""
    async with uow.read() as conn:
        return await CatalogRepository(conn, caller.organization_id).count(table, _seen_by(caller, table, f))


async def children(uow: UnitOfWork, relation: str, kind: type[R], keys: Sequence[str]) -> list[list[R]]:
    """Rows of a relation for each key, in one query (the DataLoaders' batch)."""
    async with uow.read() as conn:
        found = await catalog_repository.children(conn, relation, keys)
    return [records(kind, rows) for rows in found]


async def sku_by_code(uow: UnitOfWork, caller: Caller, code: str) -> SkuRecord | None:
    async with uow.read() as conn:
        found = await CatalogRepository(conn, caller.organization_id).sku_by_code(code)
    return None if found is None else record(SkuRecord, found)
