"""Reads of only the columns a compiled read plan needs: an RMA order by id, a page of
RMA orders, the lines of many RMA orders. Which rows a caller sees is the same predicate as
everywhere (``rma_reads.visible_to`` and ``rma_order_conditions``)."""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.driver import Prepared, one_of
from rma_graphql.db.list_criteria import filter_conditions, rma_order_filter_values
from rma_graphql.db.read_batches import ReadBatches
from rma_graphql.db.rma_reads import SORTS, keyset_query
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from rma_graphql.domain.statuses import CommentVisibility

# Rows read only: the driver's own records (or mappings) by column name.
Row = Mapping[str, Any]
# Where a read runs: on a connection, or (the operation's only statement) sent with the same
# reads of concurrent operations.
Reader = AsyncConnection | ReadBatches

# A plan reads few shapes (one per selection); this bounds the statements kept all the same.
_MAX_STATEMENTS = 500
_statements: dict[tuple[Any, ...], Prepared] = {}
# The prefix of a line's columns where they are read joined to their RMA order's.
LINE_PREFIX = "line__"


def _check(table: Any, columns: Sequence[str]) -> None:
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(unknown)}")


def _statement(
    key: tuple[Any, ...],
    build: Callable[[str], Select[Any]],
    columns: Sequence[str] = (),
    line_columns: Sequence[str] = (),
) -> Prepared:
    """The statement of one shape (``key``), prepared once (its columns checked first)."""
    found = _statements.get(key)
    if found is None:
        _check(t.rma_order, columns)
        _check(t.rma_order_line, line_columns)
        if len(_statements) >= _MAX_STATEMENTS:
            _statements.clear()
        found = _statements[key] = Prepared(build)
    return found


def _by_id(
    columns: tuple[str, ...], line_columns: tuple[str, ...], of_customer: bool
) -> Callable[[str], Any]:
    """RMA orders by id (a list: one or the reads of a batch) as the caller sees them, with
    their lines joined when ``line_columns``."""

    def build(dialect: str) -> Select[Any]:
        r, line = t.rma_order.c, t.rma_order_line.c
        query = select(
            *(r[name] for name in columns), *(line[name].label(LINE_PREFIX + name) for name in line_columns)
        ).where(one_of(dialect, r.id, "ids"), r.organization_id == bindparam("organization"))
        if line_columns:
            query = query.select_from(
                t.rma_order.outerjoin(t.rma_order_line, line.rma_order_id == r.id)
            ).order_by(line.position)
        if of_customer:
            query = query.where(r.customer_id == bindparam("customer"))
        return query

    return build


async def _rma_order_rows(
    reader: Reader,
    caller: Caller,
    rma_id: str,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...],
    *,
    begin: bool,
) -> Sequence[Row]:
    of_customer = caller.customer_id is not None
    columns = tuple(dict.fromkeys(("id", *columns)))  # tells the RMA orders of a batch apart
    key = ("by id", columns, line_columns, of_customer)
    statement = _statement(key, _by_id(columns, line_columns, of_customer), columns, line_columns)
    params: dict[str, Any] = {"organization": caller.organization_id}
    if of_customer:
        params["customer"] = caller.customer_id
    if isinstance(reader, ReadBatches):
        return await reader.rows(statement, params, key=rma_id, keys_param="ids", key_column="id")
    return await statement.records(reader, begin=begin, ids=[rma_id], **params)


async def rma_order(
    reader: Reader, caller: Caller, rma_id: str, columns: tuple[str, ...], *, alone: bool = False
) -> Row | None:
    """These columns of the RMA order ``rma_id``, if the caller sees it (``alone``: the
    operation's only read, run without a transaction)."""
    rows = await _rma_order_rows(reader, caller, rma_id, columns, (), begin=not alone)
    return rows[0] if rows else None


async def rma_order_with_lines(
    reader: Reader,
    caller: Caller,
    rma_id: str,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...],
) -> tuple[Row, list[Row]] | None:
    """These columns of the RMA order ``rma_id``, if the caller sees it, and of its lines, in
    one statement (so one snapshot, without a transaction: the operation's only read). Each
    row joins a line (its columns prefixed ``line__``) to the RMA order's columns: the first
    row stands for the RMA order, the rows with a line for its lines."""
    line_columns = tuple(dict.fromkeys(("id", *line_columns)))
    found = await _rma_order_rows(reader, caller, rma_id, columns, line_columns, begin=False)
    if not found:
        return None
    return found[0], [row for row in found if row[LINE_PREFIX + "id"] is not None]


# A page's statement per shape: the criteria given, the sort, whether it starts after a
# cursor, the columns (and the lines' columns, when they are read with it).
_PageShape = tuple[tuple[str, ...], str, bool, tuple[str, ...], tuple[str, ...] | None]


def _page(shape: _PageShape) -> Callable[[str], Any]:
    names, sort, after, columns, line_columns = shape

    def build(dialect: str) -> Select[Any]:
        conditions = filter_conditions(dict.fromkeys(names), dialect, bound=True)
        position = (None, "") if after else None
        query = keyset_query(
            t.rma_order, conditions, first=0, after=position, sort=sort, columns=columns, bound=True
        )
        if line_columns is None:
            return query
        page = query.subquery()
        line = t.rma_order_line.c
        column_name, descending = SORTS[sort]
        order = (page.c[column_name], page.c.id)
        return (
            select(*page.c, *(line[name].label(LINE_PREFIX + name) for name in line_columns))
            .select_from(page.outerjoin(t.rma_order_line, line.rma_order_id == page.c.id))
            .order_by(*(c.desc() if descending else c.asc() for c in order), line.position)
        )

    return build


async def _page_rows(
    reader: Reader,
    caller: Caller,
    f: RmaOrderFilter,
    columns: tuple[str, ...],
    line_columns: tuple[str, ...] | None,
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str,
) -> Sequence[Row]:
    values = rma_order_filter_values(caller, f)
    shape: _PageShape = (tuple(values), sort, after is not None, columns, line_columns)
    statement = _statement(("page", *shape), _page(shape), columns, line_columns or ())
    values["limit"] = first + 1
    if after is not None:
        values["after_value"], values["after_id"] = after
    if isinstance(reader, ReadBatches):
        # A search's page keeps one plan (the search index first, whatever the search): left
        # to choose, PostgreSQL planned it anew at every execution (2-3 ms), its generic plan
        # costed for a LIKE of unknown selectivity and a custom one for the few rows found.
        return await reader.rows(statement, values, generic="search" in values)
    return await statement.records(reader, begin=line_columns is None, **values)


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
    rows = await _page_rows(conn, caller, f, columns, None, first=first, after=after, sort=sort)
    return list(rows[:first]), len(rows) > first


async def rma_order_page_with_lines(
    reader: Reader,
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
    a transaction: the operation's only read), as ``rma_order_with_lines`` gives them, and
    whether another page follows."""
    line_columns = tuple(dict.fromkeys(("id", *line_columns)))
    found: list[tuple[Row, list[Row]]] = []
    last = None
    rows = await _page_rows(reader, caller, f, columns, line_columns, first=first, after=after, sort=sort)
    for one in rows:
        if one["id"] != last:
            last = one["id"]
            found.append((one, []))
        if one[LINE_PREFIX + "id"] is not None:
            found[-1][1].append(one)
    return found[:first], len(found) > first


# What a plan reads of an RMA order besides its row: its lists of children (by their
# ``rma_order_id``) and the rows it refers to (its location and organization, by ``id``); their order (as the
# per-field loaders read them) and the column that ties each to its RMA order.
_CHILDREN = {
    "lines": (t.rma_order_line, ("position",), "rma_order_id"),
    "linked_orders": (t.rma_linked_order, ("position",), "rma_order_id"),
    "financial_resolutions": (t.rma_financial_resolution, ("created_at", "id"), "rma_order_id"),
    "shipments": (t.rma_shipment, ("sequence",), "rma_order_id"),
    "comments": (t.rma_order_comment, ("sequence",), "rma_order_id"),
    "location": (t.location, ("id",), "id"),
    "organization": (t.organization, ("id",), "id"),
}


# What a customer sees of a relation, where it sees less than the staff: the comments shown
# to customers only (never the staff's INTERNAL ones).
_CUSTOMER_SEES = {"comments": lambda: t.rma_order_comment.c.visibility == CommentVisibility.CUSTOMER.value}


def _children_of(relation: str, columns: tuple[str, ...], narrowed: bool) -> Callable[[str], Any]:
    table, order, key = _CHILDREN[relation]
    c = table.c

    def build(dialect: str) -> Any:
        query = select(*(c[name] for name in columns)).where(one_of(dialect, c[key], "keys"))
        if narrowed:
            query = query.where(_CUSTOMER_SEES[relation]())
        return query.order_by(*(c[name] for name in order))

    return build


async def children(
    conn: AsyncConnection,
    relation: str,
    keys: Sequence[str | None],
    columns: tuple[str, ...],
    *,
    customer: bool = False,
) -> list[list[Mapping[str, Any]]]:
    """These columns of the ``relation`` of each key of ``keys`` (RMA order ids; for a row an
    RMA order refers to, the RMA orders' references), in their order; what a customer sees
    of it when ``customer``."""
    table, _, key = _CHILDREN[relation]
    if key not in columns:
        columns = (*columns, key)
    _check(table, columns)
    narrowed = customer and relation in _CUSTOMER_SEES
    statement = _statement((relation, columns, narrowed), _children_of(relation, columns, narrowed))
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    wanted = sorted({one for one in keys if one is not None})
    if wanted:
        for row in await statement.records(conn, keys=wanted):
            grouped[row[key]].append(row)
    return [grouped.get(one, []) if one is not None else [] for one in keys]
