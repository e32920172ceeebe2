"""Many rows in one statement: on PostgreSQL an insert of rows given as one array per column
(``unnest``), so the server plans and runs one statement for the lot, and a read by a list
of composite keys joined to the same arrays (a row-value ``IN`` of hundreds of pairs is a
sequential scan); elsewhere SQLAlchemy's executemany and a row-value ``IN``."""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db.driver import Prepared

Row = Mapping[Any, Any]


def _arrays(table: Table, names: Sequence[str], alias: str) -> Any:
    """The table valued ``unnest`` of one array parameter per column (named as the column),
    typed as the column."""
    arrays = [bindparam(name, type_=ARRAY(table.c[name].type)) for name in names]
    return func.unnest(*arrays).table_valued(*names).render_derived(name=alias)


def conflict_insert(dialect: str) -> Any:
    """The dialect's own ``insert``, the one that takes ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` (PostgreSQL's or SQLite's)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


@functools.cache
def _insert(table: Table, names: tuple[str, ...], conflict: tuple[str, ...]) -> Prepared:
    def build(dialect: str) -> Any:
        if dialect == "postgresql":
            rows = _arrays(table, names, "given")
            statement: Any = pg_insert(table).from_select(list(names), select(*rows.c))
        else:
            statement = conflict_insert(dialect)(table) if conflict else insert(table)
        return statement.on_conflict_do_nothing(index_elements=list(conflict)) if conflict else statement

    return Prepared(build)


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Row], *, unless_conflict: Sequence[str] = ()
) -> None:
    """Insert ``rows`` (each with the same columns); with ``unless_conflict``, a row that
    would repeat the unique key of those columns is left out."""
    if not rows:
        return
    names = tuple(rows[0])
    prepared = _insert(table, names, tuple(unless_conflict))
    if conn.dialect.name == "postgresql":
        await prepared.execute(conn, **{name: [row[name] for row in rows] for name in names})
    else:
        await conn.execute(prepared.statement(conn.dialect.name), [dict(row) for row in rows])


@functools.cache
def _by_keys(table: Table, keys: tuple[str, ...], wanted: tuple[str, ...]) -> Prepared:
    def build(dialect: str) -> Any:
        columns = [table.c[name] for name in wanted]
        if dialect == "postgresql":
            given = _arrays(table, keys, "wanted")
            on = and_(*(table.c[name] == given.c[name] for name in keys))
            return select(*columns).select_from(table.join(given, on))
        key = tuple_(*(table.c[name] for name in keys))
        return select(*columns).where(key.in_(bindparam("keys", expanding=True)))

    return Prepared(build)


async def rows_by_keys(
    conn: AsyncConnection,
    table: Table,
    keys: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    columns: Sequence[str],
) -> Sequence[Row]:
    """The rows whose ``keys`` columns hold one of ``values`` (tuples in the order of
    ``keys``), with ``columns``."""
    if not values:
        return []
    prepared = _by_keys(table, tuple(keys), tuple(columns))
    if conn.dialect.name == "postgresql":
        arrays: dict[str, Any] = {name: [value[index] for value in values] for index, name in enumerate(keys)}
        return await prepared.rows(conn, **arrays)
    return await prepared.rows(conn, keys=list(values))
