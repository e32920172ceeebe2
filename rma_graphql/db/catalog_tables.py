"""The catalog's tables: products, SKUs and their stock, customers, sales orders."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import ID_LENGTH, id_field, json_field, money_field, time_field


class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (Index("ix_product_created", "organization_id", "created_at", "id"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    name: str = Field(max_length=200)
    description: str | None = None
    price: int = money_field(default=0)
    currency: str = Field(max_length=3)
    search_text: str = ""
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class Sku(SQLModel, table=True):
    __tablename__ = "sku"
    __table_args__ = (
        UniqueConstraint("organization_id", "code", name="uq_sku_code"),
        Index("ix_sku_product", "product_id", "created_at"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    product_id: str = id_field(foreign="product.id")
    code: str = Field(max_length=255)
    variation: str | None = Field(default=None, max_length=255)
    created_at: datetime = time_field()


class SkuStock(SQLModel, table=True):
    """Units of a SKU on hand at a location."""

    __tablename__ = "sku_stock"

    sku_id: str = id_field(primary_key=True, foreign="sku.id")
    location_id: str = id_field(primary_key=True, foreign="location.id")
    organization_id: str = id_field(foreign="organization.id")
    quantity: int = 0


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_created", "organization_id", "created_at", "id"),
        # Mails find their recipients' languages by case-folded email (a round of them at once).
        Index("ix_customer_email", "organization_id", text("lower(email)")),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)
    address: dict[str, Any] | None = json_field()
    search_text: str = ""
    # What the customer reads (BCP 47); None: the organization's default language.
    language: str | None = Field(default=None, max_length=35)
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class SalesOrder(SQLModel, table=True):
    """A customer's order: what an RMA order returns goods from."""

    __tablename__ = "sales_order"
    __table_args__ = (
        # A missing tpAppId is stored as "" so that it counts as its own value.
        UniqueConstraint(
            "organization_id", "tp_app_key", "external_reference", name="uq_sales_order_reference"
        ),
        Index("ix_sales_order_created", "organization_id", "created_at", "id"),
        Index("ix_sales_order_customer", "customer_id"),
        Index("ix_sales_order_return_status", "organization_id", "return_status"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    external_reference: str = Field(max_length=255)
    tp_app_id: str | None = Field(default=None, max_length=255)
    tp_app_key: str = Field(default="", max_length=255)
    customer_id: str | None = Field(
        default=None, sa_column=Column(String(ID_LENGTH), ForeignKey("customer.id"), nullable=True)
    )
    currency: str = Field(max_length=3)
    shipping_amount: int = money_field(default=0)
    status: str = Field(max_length=20)
    ordered_at: datetime = time_field()
    shipped_at: datetime | None = time_field(nullable=True)
    delivered_at: datetime | None = time_field(nullable=True)
    # Derived from the RMA orders that return goods of the order, kept in their transactions.
    return_status: str = Field(default="NO_RETURN", max_length=20)
    # Set on a replacement order: the RMA order it replaces goods for.
    replacement_for_rma_id: str | None = Field(
        default=None,
        sa_column=Column(
            String(ID_LENGTH),
            ForeignKey("rma_order.id", name="fk_sales_order_replacement_for_rma"),
            nullable=True,
            index=True,
        ),
    )
    search_text: str = ""
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class SalesOrderLine(SQLModel, table=True):
    __tablename__ = "sales_order_line"
    __table_args__ = (Index("ix_sales_order_line_order", "order_id", "position"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    order_id: str = id_field(foreign="sales_order.id")
    position: int
    sku_id: str = Field(sa_column=Column(String(ID_LENGTH), ForeignKey("sku.id"), nullable=False))
    sku: str = Field(max_length=255)
    label: str = Field(max_length=255)
    quantity: int
    unit_price: int = money_field()


product: Table = Product.__table__  # type: ignore[attr-defined]  # set by SQLModel
sku: Table = Sku.__table__  # type: ignore[attr-defined]  # set by SQLModel
sku_stock: Table = SkuStock.__table__  # type: ignore[attr-defined]  # set by SQLModel
customer: Table = Customer.__table__  # type: ignore[attr-defined]  # set by SQLModel
sales_order: Table = SalesOrder.__table__  # type: ignore[attr-defined]  # set by SQLModel
sales_order_line: Table = SalesOrderLine.__table__  # type: ignore[attr-defined]  # set by SQLModel
