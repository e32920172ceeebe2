"""the search index per organization

The trigram index of `filter.search` becomes a GIN index of the organization and the search
text (btree_gin, a trusted extension since PostgreSQL 13, indexes the organization in the
same GIN index): a search reads the posting lists of its own organization's rows instead
of every organization's, so that its time follows the organization's RMA orders, not the
table's (a reference such as RMA-1157 shares its trigrams with every organization's
references). SQLite scans, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _search_index(columns: list[str]) -> None:
    op.drop_index("ix_rma_order_search", table_name="rma_order")
    op.create_index(
        "ix_rma_order_search",
        "rma_order",
        columns,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        _search_index(["organization_id", "search_text"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _search_index(["search_text"])
