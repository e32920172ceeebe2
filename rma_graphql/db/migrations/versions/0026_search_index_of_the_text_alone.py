"""the search index keys the search text alone, and searches start no parallel workers

A search asked the trigram index for its organization and its text together (btree_gin):
PostgreSQL read the whole list of the organization's entries to intersect it with the
text's, 5 ms for an organization of a million RMA orders. The index now holds the
trigrams of the text alone; a search asks it for its most distinctive piece, and the rows
found are checked for the whole text and their organization.

A list's generic plan, costed without the search's value, expected thousands of rows at a
million RMA orders and scanned them with two parallel workers, whose start took 7 ms of
a 10 ms search: the search table is read by one process (``parallel_workers = 0``).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _search_index(columns: list[str]) -> None:
    """The trigram index of the search text (on PostgreSQL, the only one that has it)."""
    op.drop_index("ix_rma_order_search", table_name="rma_order_search")
    op.create_index(
        "ix_rma_order_search",
        "rma_order_search",
        columns,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def upgrade() -> None:
    if _postgresql():
        _search_index(["search_text"])
        op.execute("ALTER TABLE rma_order_search SET (parallel_workers = 0)")


def downgrade() -> None:
    if _postgresql():
        op.execute("ALTER TABLE rma_order_search RESET (parallel_workers)")
        _search_index(["organization_id", "search_text"])
