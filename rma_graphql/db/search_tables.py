"""The search text of RMA orders and its indexes (PostgreSQL's)."""

from sqlalchemy import Index, Table, text
from sqlmodel import SQLModel

from rma_graphql.db.columns import id_field

# Indexes the migrations create on PostgreSQL only (SQLite has no GIN index).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_rma_order_search", "ix_rma_order_search_keys"})


class RmaOrderSearchRow(SQLModel, table=True):
    """The text the ``search`` filter of RMA orders matches, one row per RMA order, written
    when it is created and when a field the text is made of changes (never by a status
    change): its indexes are no part of the status changes' writes. filter.search asks them
    for a piece of the search (db/list_criteria.py; PostgreSQL only: POSTGRESQL_ONLY_INDEXES):
    its 5-grams or 3-grams in its organization (migration 0030's ``rma_search_keys``), or its
    trigrams (``pg_trgm``); a search's few rows are read by one process (parallel workers
    took 7 ms; migration 0026)."""

    __tablename__ = "rma_order_search"
    __table_args__ = (
        Index(
            "ix_rma_order_search",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        Index(
            "ix_rma_order_search_keys",
            text("rma_search_keys(organization_id, search_text)"),
            postgresql_using="gin",
        ),
        {"postgresql_with": {"parallel_workers": 0}},
    )

    rma_order_id: str = id_field(primary_key=True, foreign="rma_order.id")
    organization_id: str = id_field()
    # Case-folded, computed in Python so that both databases give the same answers.
    search_text: str = ""


rma_order_search: Table = RmaOrderSearchRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
