"""The inputs of the catalog's mutations and filters, and their conversion to service values."""

from datetime import datetime
from typing import Any

import strawberry

from rma_graphql.api.enums import OrderReturnStatus, OrderStatus
from rma_graphql.api.inputs import parse_uuid, text
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service import catalog
from rma_graphql.service.history_messages import check_language


@strawberry.input
class StockLevelInput:
    location_id: str
    quantity: int


def stock_levels(levels: list[StockLevelInput] | None, path: str) -> list[catalog.StockLevel]:
    return [
        catalog.StockLevel(parse_uuid(level.location_id, f"{path}[{i}].locationId"), level.quantity)
        for i, level in enumerate(levels or [])
    ]


@strawberry.input
class ProductCreateInput:
    name: str
    description: str | None = None
    price: float = 0
    currency: str = "EUR"


@strawberry.input
class ProductUpdateInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    price: float | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET


@strawberry.input
class SkuCreateInput:
    product_id: str
    sku: str
    variation: str | None = None
    stock: list[StockLevelInput] | None = None


@strawberry.input
class SkuUpdateInput:
    variation: str | None = strawberry.UNSET
    stock: list[StockLevelInput] | None = strawberry.UNSET


@strawberry.input
class AddressInput:
    address: str | None = None
    address_complement: str | None = None
    city: str | None = None
    zipcode: str | None = None
    country: str | None = None

    def to_json(self, path: str) -> dict[str, Any]:
        data = {
            "address": text(self.address, f"{path}.address", 500),
            "addressComplement": text(self.address_complement, f"{path}.addressComplement", 500),
            "city": text(self.city, f"{path}.city"),
            "zipcode": text(self.zipcode, f"{path}.zipcode", 20),
            "country": text(self.country, f"{path}.country", 100),
        }
        return {k: v for k, v in data.items() if v is not None}


@strawberry.input
class CustomerCreateInput:
    name: str
    email: str | None = None
    phone: str | None = None
    address: AddressInput | None = None
    language: str | None = strawberry.field(default=None, description="What the customer reads (BCP 47).")


@strawberry.input
class CustomerUpdateInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    language: str | None = strawberry.UNSET


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: float | None = strawberry.field(default=None, description="Default: the product's price.")
    label: str | None = strawberry.field(
        default=None, description="Default: the product's name and variation."
    )


@strawberry.input
class OrderCreateInput:
    external_reference: str
    lines: list[OrderLineInput]
    currency: str = "EUR"
    tp_app_id: str | None = None
    customer_id: str | None = None
    shipping_amount: float = 0
    status: OrderStatus = OrderStatus.PENDING
    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


@strawberry.input
class OrderUpdateInput:
    status: OrderStatus | None = strawberry.UNSET
    customer_id: str | None = strawberry.UNSET
    shipping_amount: float | None = strawberry.UNSET
    shipped_at: datetime | None = strawberry.UNSET
    delivered_at: datetime | None = strawberry.UNSET


@strawberry.input
class CatalogFilterInput:
    search: str | None = None


@strawberry.input
class OrderFilterInput:
    search: str | None = None
    status: list[OrderStatus] | None = None
    return_status: list[OrderReturnStatus] | None = None
    customer_id: str | None = None
    ordered_after: datetime | None = None
    ordered_before: datetime | None = None


def given(data: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(data, name) for name in names if getattr(data, name) is not strawberry.UNSET}


def required(values: dict[str, Any], name: str, path: str) -> None:
    if name in values and (
        values[name] is None or (isinstance(values[name], str) and not values[name].strip())
    ):
        raise BadUserInputError("A value is required.", path)


def customer_values(data: Any, partial: bool) -> dict[str, Any]:
    values = (
        given(data, ("name", "email", "phone", "address", "language"))
        if partial
        else {
            "name": data.name,
            "email": data.email,
            "phone": data.phone,
            "address": data.address,
            "language": data.language,
        }
    )
    required(values, "name", "input.name")
    for name, limit in (("name", 200), ("email", 320), ("phone", 50)):
        if name in values:
            text(values[name], f"input.{name}", limit)
    if values.get("address") is not None:
        values["address"] = values["address"].to_json("input.address")
    if values.get("language") is not None:
        values["language"] = check_language(values["language"], "input.language")
    return values


def filter_search(search: str | None) -> str | None:
    return text(search, "filter.search")
