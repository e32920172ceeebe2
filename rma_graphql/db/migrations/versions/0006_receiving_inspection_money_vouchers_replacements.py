"""receiving, inspection, restock, the money, vouchers and replacement orders

RMA order lines count the units received, inspected, accepted and restocked, and keep the
serial numbers received; each inspection gets a row, and stock changes are recorded as
inventory movements. RMA orders keep the facts their amount due needs (refund terms);
financial resolutions name their payment provider; vouchers get a table; configurations a
voucher validity; sales orders may be replacement orders of an RMA order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import rma_graphql.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rma_line_inspection",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("product_state", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("disposition", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "inspector",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["rma_order_line.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rma_line_inspection", schema=None) as batch_op:
        batch_op.create_index("ix_rma_line_inspection_order", ["rma_order_id", "sequence"], unique=False)

    op.create_table(
        "voucher",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("expires_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("resolution_id", sa.String(length=36), nullable=False),
        sa.Column("redeemed_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_amount", sa.Integer(), nullable=True),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_voucher_code"),
        sa.UniqueConstraint("resolution_id", name="uq_voucher_resolution"),
    )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_order", ["rma_order_id"], unique=False)

    op.create_table(
        "inventory_movement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=True),
        sa.Column("inspection_id", sa.String(length=36), nullable=True),
        sa.Column("sales_order_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["rma_line_inspection.id"],
        ),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["rma_order_id"],
            ["rma_order.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sales_order_id"],
            ["sales_order.id"],
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["sku.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id", name="uq_inventory_movement_inspection"),
    )
    with op.batch_alter_table("inventory_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inventory_movement_sku", ["sku_id", "location_id", "created_at"], unique=False
        )

    with op.batch_alter_table("rma_configuration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voucher_validity_days", sa.Integer(), server_default="365", nullable=False)
        )

    with op.batch_alter_table("rma_financial_resolution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=40), server_default="manual", nullable=False)
        )

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refund_terms",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("rma_order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_quantity", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "received_serial_numbers",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("inspected_quantity", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("accepted_quantity", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("restocked_quantity", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replacement_for_rma_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sales_order_replacement_for_rma_id"), ["replacement_for_rma_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_sales_order_replacement_for_rma", "rma_order", ["replacement_for_rma_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sales_order_replacement_for_rma", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_sales_order_replacement_for_rma_id"))
        batch_op.drop_column("replacement_for_rma_id")

    with op.batch_alter_table("rma_order_line", schema=None) as batch_op:
        batch_op.drop_column("restocked_quantity")
        batch_op.drop_column("accepted_quantity")
        batch_op.drop_column("inspected_quantity")
        batch_op.drop_column("received_serial_numbers")
        batch_op.drop_column("received_quantity")

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.drop_column("refund_terms")

    with op.batch_alter_table("rma_financial_resolution", schema=None) as batch_op:
        batch_op.drop_column("provider")

    with op.batch_alter_table("rma_configuration", schema=None) as batch_op:
        batch_op.drop_column("voucher_validity_days")

    with op.batch_alter_table("inventory_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_movement_sku")

    op.drop_table("inventory_movement")
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_order")

    op.drop_table("voucher")
    with op.batch_alter_table("rma_line_inspection", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_line_inspection_order")

    op.drop_table("rma_line_inspection")
