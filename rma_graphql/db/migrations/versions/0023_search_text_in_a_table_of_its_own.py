"""the search text of RMA orders in a table of its own

The text `filter.search` matches moves from `rma_order` to `rma_order_search`, one row per
RMA order with its organization, and its trigram index with it. A status change writes a
new version of the RMA row, and PostgreSQL then adds an entry for it to every index of the
table: the trigram index took one per trigram of the text (about fifty) at every change,
and its pending list, once full, was merged into the index by the statement that filled
it (about 200 ms, every few thousand changes). The text only changes with the fields it is
made of (reference, external id and reference, sender, SKUs), written then, and by none
of the status changes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _move_search_index(from_table: str, to_table: str) -> None:
    """The trigram index of the organization and the search text (PostgreSQL only)."""
    op.drop_index("ix_rma_order_search", table_name=from_table)
    op.create_index(
        "ix_rma_order_search",
        to_table,
        ["organization_id", "search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def upgrade() -> None:
    op.create_table(
        "rma_order_search",
        sa.Column(
            "rma_order_id",
            sa.String(36),
            sa.ForeignKey("rma_order.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        sa.Column("organization_id", sa.String(36), nullable=False),
        sa.Column("search_text", sa.String(), nullable=False),
    )
    op.execute(
        "INSERT INTO rma_order_search (rma_order_id, organization_id, search_text) "
        "SELECT id, organization_id, search_text FROM rma_order"
    )
    if _postgresql():
        _move_search_index("rma_order", "rma_order_search")
    # SQLite (3.35 and later) drops a column in place: no copy of the table its children
    # refer to.
    op.drop_column("rma_order", "search_text")


def downgrade() -> None:
    op.add_column("rma_order", sa.Column("search_text", sa.String(), nullable=False, server_default=""))
    op.execute(
        "UPDATE rma_order SET search_text = (SELECT s.search_text FROM rma_order_search AS s "
        "WHERE s.rma_order_id = rma_order.id) "
        "WHERE EXISTS (SELECT 1 FROM rma_order_search AS s WHERE s.rma_order_id = rma_order.id)"
    )
    if _postgresql():
        _move_search_index("rma_order_search", "rma_order")
    op.drop_table("rma_order_search")
