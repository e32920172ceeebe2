"""A revision keeps an RMA order's rows as JSON (times as ISO texts) and gives them back as
the rows were, including a revision kept before a column existed."""

from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import tables as t
from rma_graphql.db.columns import column_names
from rma_graphql.db.revisions import Revision, revision_from_state, revision_state

NOW = datetime(2026, 12, 1, 19, 30, 5, 123456, tzinfo=UTC)


def _row(table: Any, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(column_names(table))
    row.update(values)
    return row


def _revision(order: dict[str, Any]) -> Revision:
    line = _row(t.rma_order_line, id="l1", sku="SKU-1", quantity=2, pictures=["a.jpg"])
    return Revision(row=order, lines=[line], linked_orders=[], financial_resolutions=[])


def test_times_are_kept_as_iso_texts_and_read_back_as_datetimes() -> None:
    order = _row(t.rma_order, id="r1", version=3, created_at=NOW, updated_at=NOW, scan_at=None)
    state = revision_state(_revision(order))

    assert state["row"]["created_at"] == "2026-12-01T19:30:05.123456+00:00"
    assert state["row"]["scan_at"] is None
    assert state["lines"][0] == _revision(order).lines[0]
    assert revision_from_state(state) == _revision(order)


def test_a_row_with_more_than_the_columns_keeps_only_the_columns() -> None:
    order = _row(t.rma_order, id="r1", version=3, created_at=NOW)
    state = revision_state(_revision({**order, "configuration_settings": {"x": 1}}))

    assert set(state["row"]) == set(column_names(t.rma_order))
    assert state["row"]["created_at"] == NOW.isoformat()


def test_a_revision_kept_before_a_column_existed_reads_what_the_migration_gave_it() -> None:
    order = _row(t.rma_order, id="r1", version=3, created_at=NOW)
    state = revision_state(_revision(order))
    del state["row"]["scan_status"]
    del state["lines"][0]["restocked_quantity"]

    revision = revision_from_state(state)

    assert revision.row["scan_status"] is None  # added without a default
    assert revision.lines[0]["restocked_quantity"] == 0  # added with a server default of 0
    assert revision.row["created_at"] == NOW
    assert set(revision.row) == set(column_names(t.rma_order))
