"""indexes for the RMA order list at a million rows, and a trigram search index

Each status dimension and the location get an index in the list's order (organization,
value, newest first), so that a filter on a rare value reads only the rows it shows. On
PostgreSQL, a trigram GIN index (pg_trgm, a trusted extension since PostgreSQL 13) serves
the substring search of `filter.search`; SQLite, the embedded database for small
installations, scans.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTED_BY = ("processing_status", "delivery_status", "financial_status", "fulfillment_status", "location_id")


def upgrade() -> None:
    op.drop_index("ix_rma_order_processing", table_name="rma_order")
    for column in LISTED_BY:
        op.create_index(
            f"ix_rma_order_{column.removesuffix('_status').removesuffix('_id')}_created",
            "rma_order",
            ["organization_id", column, "created_at", "id"],
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_rma_order_search",
            "rma_order",
            ["search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_rma_order_search", table_name="rma_order")
    for column in LISTED_BY:
        op.drop_index(
            f"ix_rma_order_{column.removesuffix('_status').removesuffix('_id')}_created",
            table_name="rma_order",
        )
    op.create_index("ix_rma_order_processing", "rma_order", ["organization_id", "processing_status"])
