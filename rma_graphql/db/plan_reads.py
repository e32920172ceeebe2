"""Reads of only the columns a compiled read plan needs: an RMA order by id, a page of
RMA orders, the lines of many RMA orders. Which rows a caller sees is the same predicate as
everywhere (``rma_reads.visible_to`` and ``rma_order_conditions``)."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.driver import Prepared, one_of, select_rows
from rma_graphql.db.rma_reads import SORTS, keyset_query, keyset_rows, rma_order_conditions
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter

Row = dict[str, Any]

# A plan reads few shapes (one per selection); these bound the caches all the same.
_MAX_STATEMENTS = 500
_by_id: dict[tuple[tuple[str, ...], bool], Prepared] = {}
_lines: dict[tuple[str, ...], Prepared] = {}


def _check(table: Any, columns: Sequence[str]) -> None:
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(unknown)}")


def _rma_order_statement(columns: tuple[str, ...], of_customer: bool) -> Prepared:
    def build(dialect: str) -> Select[Any]:
        c = t.rma_order.c
        query = select(*(c[name] for name in columns)).where(
            c.id == bindparam("id"), c.organization_id == bindparam("organization")
        )
        if of_customer:
            query = query.where(c.customer_id == bindparam("customer"))
        return query

    return Prepared(build)


async def rma_order(
    conn: AsyncConnection, caller: Caller, rma_id: str, columns: tuple[str, ...], *, alone: bool = False
) -> Row | None:
    """These columns of the RMA order ``rma_id``, if the caller sees it (``alone``: the
    operation's only read, run without a transaction)."""
    of_customer = caller.customer_id is not None
    key = (columns, of_customer)
    statement = _by_id.get(key)
    if statement is None:
        _check(t.rma_order, columns)
        if len(_by_id) >= _MAX_STATEMENTS:
            _by_id.clear()
        statement = _by_id[key] = _rma_order_statement(columns, of_customer)
    params: dict[str, Any] = {"id": rma_id, "organization": caller.organization_id}
    if of_customer:
        params["customer"] = caller.customer_id
    rows = await (statement.rows_alone if alone else statement.rows)(conn, **params)
    return dict(rows[0]) if rows else None


_LINE = "line__"
_with_lines: dict[tuple[tuple[str, ...], tuple[str, ...], bool], Prepared] = {}


def _with_lines_statement(
    columns: tuple[str, ...], line_columns: tuple[str, ...], of_customer: bool
) -> Prepared:
    def build(dialect: str) -> Select[Any]:
        r, line = t.rma_order.c, t.rma_order_line.c
        query = (
            select(*(r[name] for name in columns), *(line[name].label(_LINE + name) for name in line_columns))
            .select_from(t.rma_order.outerjoin(t.rma_order_line, line.rma_order_id == r.id))
            .where(r.id == bindparam("id"), r.organization_id == bindparam("organization"))
            .order_by(line.position)
        )
        if of_customer:
            query = query.where(r.customer_id == bindparam("customer"))
        return query

    return Prepared(build)


async def rma_order_with_lines(
    conn: AsyncConnection,
    caller: Caller,
    rma_id: str,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...],
) -> tuple[Row, list[Row]] | None:
    """These columns of the RMA order ``rma_id``, if the caller sees it, and of its lines, in
    one statement (so one snapshot, without a transaction: the operation's only read)."""
    of_customer = caller.customer_id is not None
    line_columns = tuple(dict.fromkeys(("id", *line_columns)))
    key = (columns, line_columns, of_customer)
    statement = _with_lines.get(key)
    if statement is None:
        _check(t.rma_order, columns)
        _check(t.rma_order_line, line_columns)
        if len(_with_lines) >= _MAX_STATEMENTS:
            _with_lines.clear()
        statement = _with_lines[key] = _with_lines_statement(columns, line_columns, of_customer)
    params: dict[str, Any] = {"id": rma_id, "organization": caller.organization_id}
    if of_customer:
        params["customer"] = caller.customer_id
    found = await statement.rows_alone(conn, **params)
    if not found:
        return None
    row = {name: found[0][name] for name in columns}
    lines = [
        {name: one[_LINE + name] for name in line_columns} for one in found if one[_LINE + "id"] is not None
    ]
    return row, lines


async def rma_order_page(
    conn: AsyncConnection,
    caller: Caller,
    f: RmaOrderFilter,
    columns: tuple[str, ...],
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str,
) -> tuple[list[Row], bool]:
    """These columns of a page of the RMA orders the criteria match (``rma_order_rows``'s page),
    and whether another page follows."""
    _check(t.rma_order, columns)
    found = await keyset_rows(
        conn,
        t.rma_order,
        rma_order_conditions(caller, f, conn.dialect.name),
        first=first,
        after=after,
        sort=sort,
        columns=columns,
    )
    # Rows of their own: a plan keeps each row's children in it.
    return [dict(row) for row in found.rows], found.has_next_page


async def rma_order_page_with_lines(
    conn: AsyncConnection,
    caller: Caller,
    f: RmaOrderFilter,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...],
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str,
) -> tuple[list[tuple[Row, list[Row]]], bool]:
    """``rma_order_page`` and each RMA order's lines in one statement (one snapshot, without
    a transaction: the operation's only read), and whether another page follows."""
    _check(t.rma_order, columns)
    line_columns = tuple(dict.fromkeys(("id", *line_columns)))
    _check(t.rma_order_line, line_columns)
    conditions = rma_order_conditions(caller, f, conn.dialect.name)
    page = keyset_query(
        t.rma_order, conditions, first=first, after=after, sort=sort, columns=columns
    ).subquery()
    line = t.rma_order_line.c
    column_name, descending = SORTS[sort]
    order = (page.c[column_name], page.c.id)
    query = (
        select(*page.c, *(line[name].label(_LINE + name) for name in line_columns))
        .select_from(page.outerjoin(t.rma_order_line, line.rma_order_id == page.c.id))
        .order_by(*(c.desc() if descending else c.asc() for c in order), line.position)
    )
    found: list[tuple[Row, list[Row]]] = []
    names = tuple(page.c.keys())
    for one in await select_rows(conn, query, begin=False):
        if not found or found[-1][0]["id"] != one["id"]:
            found.append(({name: one[name] for name in names}, []))
        if one[_LINE + "id"] is not None:
            found[-1][1].append({name: one[_LINE + name] for name in line_columns})
    return found[:first], len(found) > first


def _lines_statement(columns: tuple[str, ...]) -> Prepared:
    c = t.rma_order_line.c
    return Prepared(
        lambda dialect: (
            select(*(c[name] for name in columns))
            .where(one_of(dialect, c.rma_order_id, "keys"))
            .order_by(c.position)
        )
    )


async def lines(
    conn: AsyncConnection, keys: Sequence[str], columns: tuple[str, ...]
) -> list[list[Mapping[str, Any]]]:
    """These columns of the lines of each RMA order of ``keys``, in their order."""
    if "rma_order_id" not in columns:
        columns = (*columns, "rma_order_id")
    statement = _lines.get(columns)
    if statement is None:
        _check(t.rma_order_line, columns)
        if len(_lines) >= _MAX_STATEMENTS:
            _lines.clear()
        statement = _lines[columns] = _lines_statement(columns)
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in await statement.rows(conn, keys=list(keys)):
        grouped[row["rma_order_id"]].append(row)
    return [grouped.get(key, []) for key in keys]
