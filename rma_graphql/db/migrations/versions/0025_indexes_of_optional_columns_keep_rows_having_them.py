"""the indexes of an RMA order's customer and custom state keep only the rows that have one

A status change writes a new version of the RMA row, and PostgreSQL adds an entry for it
to every index of the table; an RMA order without a customer account (a guest's return)
or a custom state (most of them) added one to each of these two indexes too, under a key
no query reads (a list by customer or by custom state asks for a value). Partial indexes
(``WHERE … IS NOT NULL``) serve the same queries and take no entry for those rows.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_rma_order_customer": ("customer_id", ["organization_id", "customer_id", "created_at"]),
    "ix_rma_order_custom_state_created": (
        "custom_state",
        ["organization_id", "custom_state", "created_at", "id"],
    ),
}


def _recreate(partial: bool) -> None:
    for name, (column, columns) in _INDEXES.items():
        op.drop_index(name, table_name="rma_order")
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        op.create_index(name, "rma_order", columns, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    _recreate(partial=True)


def downgrade() -> None:
    _recreate(partial=False)
