"""Revisions: each version of an RMA order kept as it was committed, so that a subscriber
or a mutation's answer shows exactly that version."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.change_statements import REVISION, bound
from rma_graphql.db.columns import column_names
from rma_graphql.db.types import UTCDateTime

Row = Mapping[Any, Any]


@dataclass(frozen=True)
class _Columns:
    """What keeping a table's rows in a revision needs of its columns, read once per table
    (a revision is written with every change: walking the columns per row cost more than
    copying the row)."""

    names: tuple[str, ...]
    named: frozenset[str]
    times: tuple[str, ...]  # kept as ISO texts, read back as datetimes
    missing: tuple[tuple[str, Any], ...]  # a column added since: what the migration gave it


@functools.cache
def _columns(table: Table) -> _Columns:
    return _Columns(
        names=column_names(table),
        named=frozenset(column_names(table)),
        times=tuple(column.name for column in table.columns if isinstance(column.type, UTCDateTime)),
        missing=tuple((column.name, _missing(column)) for column in table.columns),
    )


def _jsonable(table: Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    columns = _columns(table)
    # A row of exactly the table's columns (as the domain's rows are) is copied whole.
    data = dict(row) if row.keys() == columns.named else {name: row[name] for name in columns.names}
    for name in columns.times:
        if isinstance(value := data[name], datetime):
            data[name] = value.isoformat()
    return data


def _missing(column: Any) -> Any:
    """A column a revision kept before the column existed: the value the migration gave it."""
    default = column.server_default
    if default is None:
        return None
    value = str(default.arg)
    return int(value) if isinstance(column.type, Integer) else value


def _from_jsonable(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    columns = _columns(table)
    row = dict(data)
    for name, value in columns.missing:
        if name not in row:
            row[name] = value
    for name in columns.times:
        if isinstance(value := row.get(name), str):
            row[name] = datetime.fromisoformat(value)
    return row


def revision_state(revision: "Revision") -> dict[str, Any]:
    """The RMA order as of this version, as its revision keeps it (``revision_from_state``
    reads it back), so a subscriber is shown exactly that."""
    return {
        "row": _jsonable(t.rma_order, revision.row),
        "lines": [_jsonable(t.rma_order_line, line) for line in revision.lines],
        "linked_orders": [_jsonable(t.rma_linked_order, order) for order in revision.linked_orders],
        "financial_resolutions": [
            _jsonable(t.rma_financial_resolution, resolution) for resolution in revision.financial_resolutions
        ],
    }


async def save_revision(conn: AsyncConnection, *, organization_id: str, state: Mapping[str, Any]) -> None:
    """Keep a revision on its own (PostgreSQL keeps it with the events, event_log.Written)."""
    row = state["row"]
    revision = {"rma_order_id": row["id"], "version": row["version"], "organization_id": organization_id}
    await REVISION.execute(conn, **bound({**revision, "state": state}))


@dataclass(frozen=True)
class Revision:
    row: dict[str, Any]
    lines: list[dict[str, Any]]
    linked_orders: list[dict[str, Any]]
    financial_resolutions: list[dict[str, Any]]


def revision_from_state(state: Mapping[str, Any]) -> Revision:
    return Revision(
        row=_from_jsonable(t.rma_order, state["row"]),
        lines=[_from_jsonable(t.rma_order_line, line) for line in state["lines"]],
        linked_orders=[_from_jsonable(t.rma_linked_order, order) for order in state["linked_orders"]],
        financial_resolutions=[
            _from_jsonable(t.rma_financial_resolution, resolution)
            for resolution in state["financial_resolutions"]
        ],
    )


def revision_as_kept(state: Mapping[str, Any]) -> Revision:
    """The revision without converting its columns (times stay ISO texts, columns added since
    are missing): for readers that format none of them, such as mails."""
    return Revision(
        row=dict(state["row"]),
        lines=list(state["lines"]),
        linked_orders=list(state.get("linked_orders", [])),
        financial_resolutions=list(state.get("financial_resolutions", [])),
    )
