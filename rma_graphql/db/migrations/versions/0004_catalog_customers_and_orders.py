"""catalog, customers and orders

Products, their SKUs and the stock of each SKU per location; customers; and customers'
orders with their lines, which RMA orders return goods from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import rma_graphql.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index("ix_customer_created", ["organization_id", "created_at", "id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index("ix_product_created", ["organization_id", "created_at", "id"], unique=False)

    op.create_table(
        "sales_order",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("external_reference", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("tp_app_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("tp_app_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("shipping_amount", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("ordered_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "organization_id", "tp_app_key", "external_reference", name="uq_sales_order_reference"
        ),
    )
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index("ix_sales_order_created", ["organization_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_sales_order_customer", ["customer_id"], unique=False)

    op.create_table(
        "sku",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("variation", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "code", name="uq_sku_code"),
    )
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.create_index("ix_sku_product", ["product_id", "created_at"], unique=False)

    op.create_table(
        "sales_order_line",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["sku.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sales_order_line", schema=None) as batch_op:
        batch_op.create_index("ix_sales_order_line_order", ["order_id", "position"], unique=False)

    op.create_table(
        "sku_stock",
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sku_id", "location_id"),
    )


def downgrade() -> None:
    op.drop_table("sku_stock")
    with op.batch_alter_table("sales_order_line", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_line_order")

    op.drop_table("sales_order_line")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_index("ix_sku_product")

    op.drop_table("sku")
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_customer")
        batch_op.drop_index("ix_sales_order_created")

    op.drop_table("sales_order")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_created")

    op.drop_table("product")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_created")

    op.drop_table("customer")
