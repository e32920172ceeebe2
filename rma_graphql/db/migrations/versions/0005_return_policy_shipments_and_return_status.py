"""return policy, shipments and order return status

RMA orders keep the return policy in force at their creation, a staff override of the
return window, and the delivery status their latest carrier scan calls for; their lines
may name the sales order line they return, with pictures. Return shipments and their
scans get tables of their own, and sales orders a return status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import rma_graphql.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rma_shipment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("carrier_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("tracking", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("tracking_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("label_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rma_shipment", schema=None) as batch_op:
        batch_op.create_index("ix_rma_shipment_order", ["rma_order_id", "sequence"], unique=False)

    op.create_table(
        "rma_shipment_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("shipment_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("date", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shipment_id"], ["rma_shipment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "event", "date", name="uq_rma_shipment_event_scan"),
    )
    with op.batch_alter_table("rma_shipment_event", schema=None) as batch_op:
        batch_op.create_index("ix_rma_shipment_event_order", ["rma_order_id", "sequence"], unique=False)

    with op.batch_alter_table("rma_linked_order", schema=None) as batch_op:
        batch_op.create_index("ix_rma_linked_order_target", ["organization_id", "order_id"], unique=False)

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "policy",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("return_window_override_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("scan_status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )
        batch_op.add_column(
            sa.Column("scan_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("rma_order_line", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_line_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "pictures",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_index("ix_rma_order_line_order_line", ["order_line_id"], unique=False)

    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "return_status",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="NO_RETURN",
            )
        )
        batch_op.create_index(
            "ix_sales_order_return_status", ["organization_id", "return_status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_return_status")
        batch_op.drop_column("return_status")

    with op.batch_alter_table("rma_order_line", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_order_line_order_line")
        batch_op.drop_column("pictures")
        batch_op.drop_column("order_line_id")

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.drop_column("scan_at")
        batch_op.drop_column("scan_status")
        batch_op.drop_column("return_window_override_reason")
        batch_op.drop_column("policy")

    with op.batch_alter_table("rma_linked_order", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_linked_order_target")

    with op.batch_alter_table("rma_shipment_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_shipment_event_order")

    op.drop_table("rma_shipment_event")
    with op.batch_alter_table("rma_shipment", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_shipment_order")

    op.drop_table("rma_shipment")
