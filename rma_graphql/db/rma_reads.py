"""Read side: the statements behind the GraphQL types, batched per relation, and keyset pages.

Every function takes the read connection first and answers rows; which rows a caller may
see is a predicate here (``visible_to``), never a filter applied after the query.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t
from rma_graphql.db.driver import Prepared, one_of, select_rows
from rma_graphql.db.list_criteria import filter_conditions, rma_order_filter_values
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from rma_graphql.domain.statuses import CommentVisibility, FinancialResolutionStatus

Row = Mapping[Any, Any]

_CHILDREN = {
    "lines": (t.rma_order_line, (t.rma_order_line.c.position,)),
    "linked_orders": (t.rma_linked_order, (t.rma_linked_order.c.position,)),
    "financial_resolutions": (
        t.rma_financial_resolution,
        (t.rma_financial_resolution.c.created_at, t.rma_financial_resolution.c.id),
    ),
    "comments": (t.rma_order_comment, (t.rma_order_comment.c.sequence,)),
    "shipments": (t.rma_shipment, (t.rma_shipment.c.sequence,)),
    "shipment_events": (t.rma_shipment_event, (t.rma_shipment_event.c.date, t.rma_shipment_event.c.sequence)),
    "inspections": (t.rma_line_inspection, (t.rma_line_inspection.c.sequence,)),
    "replacement_orders": (t.sales_order, (t.sales_order.c.created_at, t.sales_order.c.id)),
}
# The column that ties a child to its RMA order, where it is not ``rma_order_id``.
_PARENT = {"replacement_orders": t.sales_order.c.replacement_for_rma_id}
_BY_ID = {
    "locations": t.location,
    "organizations": t.organization,
    "products": t.product,
    "customers": t.customer,
    "orders": t.sales_order,
}

# sort name -> (column, descending)
SORTS: dict[str, tuple[str, bool]] = {
    "CREATED_AT_DESC": ("created_at", True),
    "CREATED_AT_ASC": ("created_at", False),
    "UPDATED_AT_DESC": ("updated_at", True),
    "RETURN_NUMBER_DESC": ("return_number", True),
    "RETURN_NUMBER_ASC": ("return_number", False),
}


@dataclass(frozen=True)
class KeysetRows:
    """Up to ``first`` rows after a position, and whether more follow."""

    rows: list[Row]
    has_next_page: bool


def _parent(relation: str) -> ColumnElement[str]:
    parent = _PARENT.get(relation, _CHILDREN[relation][0].c.get("rma_order_id"))
    assert parent is not None
    return parent


def _children_statement(relation: str) -> Prepared:
    table, order = _CHILDREN[relation]
    return Prepared(
        lambda dialect: select(table).where(one_of(dialect, _parent(relation), "keys")).order_by(*order)
    )


def _by_id_statement(table: Table) -> Prepared:
    return Prepared(lambda dialect: select(table).where(one_of(dialect, table.c.id, "keys")))


_CHILDREN_READS = {relation: _children_statement(relation) for relation in _CHILDREN}
_BY_ID_READS = {kind: _by_id_statement(table) for kind, table in _BY_ID.items()}


async def children_by_rma(conn: AsyncConnection, relation: str, keys: Sequence[str]) -> list[list[Row]]:
    rows = await _CHILDREN_READS[relation].rows(conn, keys=list(keys))
    parent = _parent(relation).name
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[parent]].append(row)
    return [grouped.get(key, []) for key in keys]


async def rows_by_id(conn: AsyncConnection, kind: str, keys: Sequence[str]) -> list[Row | None]:
    found = {row["id"]: row for row in await _BY_ID_READS[kind].rows(conn, keys=list(keys))}
    return [found.get(key) for key in keys]


def visible_to(caller: Caller) -> list[ColumnElement[bool]]:
    """The RMA orders a caller may see: its organization's, and a customer's own only."""
    conditions: list[ColumnElement[bool]] = [t.rma_order.c.organization_id == caller.organization_id]
    if caller.customer_id is not None:
        conditions.append(t.rma_order.c.customer_id == caller.customer_id)
    return conditions


def _rma_order_statement(of_customer: bool) -> Prepared:
    def build(dialect: str) -> Select[Any]:
        query = select(t.rma_order).where(
            t.rma_order.c.id == bindparam("id"), t.rma_order.c.organization_id == bindparam("organization")
        )
        if of_customer:
            query = query.where(t.rma_order.c.customer_id == bindparam("customer"))
        return query

    return Prepared(build)


# One RMA order by id, as an organization's staff or client sees it, and as a customer does.
_RMA_ORDER_READS = {False: _rma_order_statement(False), True: _rma_order_statement(True)}


async def rma_order_row(conn: AsyncConnection, caller: Caller, rma_id: str) -> Row | None:
    """The RMA order ``rma_id`` if the caller sees it (``visible_to``'s predicates)."""
    of_customer = caller.customer_id is not None
    params: dict[str, Any] = {"id": rma_id, "organization": caller.organization_id}
    if of_customer:
        params["customer"] = caller.customer_id
    rows = await _RMA_ORDER_READS[of_customer].rows(conn, **params)
    return rows[0] if rows else None


async def rma_order_row_by_external_id(
    conn: AsyncConnection, caller: Caller, external_id: str, tp_app_id: str | None
) -> Row | None:
    result = await conn.execute(
        select(t.rma_order).where(
            *visible_to(caller),
            t.rma_order.c.tp_app_key == (tp_app_id or ""),
            t.rma_order.c.external_id == external_id,
        )
    )
    return result.mappings().first()


async def histories(
    conn: AsyncConnection,
    wanted: Sequence[tuple[str, int]],
    after_sequence: int | None,
    first: int,
    *,
    public_only: bool = False,
) -> list[list[Row]]:
    """The events of each RMA order of ``wanted`` (its id, the last sequence it shows) in
    sequence order: after ``after_sequence``, the first ``first``; a customer's
    (``public_only``) without the staff's internal ones. One statement for them all: each RMA
    order's first rows are numbered in the database, and the rows past an RMA order's last
    sequence, which come after those it shows, are left out here."""
    c = t.rma_order_event.c
    ids = sorted({rma_id for rma_id, _ in wanted})
    if not ids or first <= 0:
        return [[] for _ in wanted]
    number = func.row_number().over(partition_by=c.rma_order_id, order_by=c.sequence).label("n")
    ranked = select(t.rma_order_event, number).where(
        c.rma_order_id.in_(ids), c.sequence <= max(up_to for _, up_to in wanted)
    )
    if public_only:
        ranked = ranked.where(or_(c.visibility.is_(None), c.visibility == CommentVisibility.CUSTOMER.value))
    if after_sequence is not None:
        ranked = ranked.where(c.sequence > after_sequence)
    inner = ranked.subquery()
    query = (
        select(*(inner.c[column.name] for column in t.rma_order_event.columns))
        .where(inner.c.n <= first)
        .order_by(inner.c.rma_order_id, inner.c.sequence)
    )
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in (await conn.execute(query)).mappings().all():
        grouped[row["rma_order_id"]].append(row)
    return [[row for row in grouped.get(rma_id, []) if row["sequence"] <= up_to] for rma_id, up_to in wanted]


async def configurations(conn: AsyncConnection, organization_id: str) -> list[Row]:
    result = await conn.execute(
        select(t.rma_configuration)
        .where(t.rma_configuration.c.organization_id == organization_id)
        .order_by(t.rma_configuration.c.created_at, t.rma_configuration.c.id)
    )
    return list(result.mappings().all())


async def configuration(
    conn: AsyncConnection, organization_id: str, *, id: str | None = None, location_id: str | None = None
) -> Row | None:
    query = select(t.rma_configuration).where(t.rma_configuration.c.organization_id == organization_id)
    if id is not None:
        query = query.where(t.rma_configuration.c.id == id)
    if location_id is not None:
        query = query.where(t.rma_configuration.c.location_id == location_id)
    return (await conn.execute(query)).mappings().first()


async def locations(conn: AsyncConnection, organization_id: str) -> list[Row]:
    result = await conn.execute(
        select(t.location)
        .where(t.location.c.organization_id == organization_id)
        .order_by(t.location.c.created_at, t.location.c.id)
    )
    return list(result.mappings().all())


def rma_order_conditions(caller: Caller, f: RmaOrderFilter, dialect: str) -> list[ColumnElement[bool]]:
    """The RMA orders a caller's criteria match (and may see: its organization's, a
    customer's own)."""
    return filter_conditions(rma_order_filter_values(caller, f), dialect, bound=False)


async def rma_order_count(conn: AsyncConnection, caller: Caller, f: RmaOrderFilter, *, exact: bool) -> int:
    conditions = rma_order_conditions(caller, f, conn.dialect.name)
    return await (count if exact else estimate)(conn, t.rma_order, conditions)


async def rma_order_rows(
    conn: AsyncConnection,
    caller: Caller,
    f: RmaOrderFilter,
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str,
) -> KeysetRows:
    return await keyset_rows(
        conn,
        t.rma_order,
        rma_order_conditions(caller, f, conn.dialect.name),
        first=first,
        after=after,
        sort=sort,
    )


def page_query(
    caller: Caller,
    f: RmaOrderFilter,
    *,
    first: int,
    after: tuple[Any, str] | None = None,
    sort: str = "CREATED_AT_DESC",
) -> Select[Any]:
    """The statement of a page of RMA orders on PostgreSQL (for plans: scripts/explain_rma_list.py)."""
    conditions = rma_order_conditions(caller, f, "postgresql")
    return keyset_query(t.rma_order, conditions, first=first, after=after, sort=sort)


def keyset_query(
    table: Table,
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str = "CREATED_AT_DESC",
    columns: Sequence[str] | None = None,
    bound: bool = False,
) -> Select[Any]:
    """Up to ``first`` + 1 matching rows in the sort's order, after the (sort value, id) of a
    row: the extra row says whether another page follows. With ``columns``, only those
    (and the id and the sort's column, which a cursor needs). ``bound``: the position and the
    limit are parameters (``after_value``, ``after_id``, ``limit``) of a prepared shape."""
    column_name, descending = SORTS[sort]
    column = table.c[column_name]
    key = table.c.id
    if columns is None:
        query: Select[Any] = select(table).where(*conditions)
    else:
        names = dict.fromkeys(("id", column_name, *columns))
        query = select(*(table.c[name] for name in names)).where(*conditions)
    if after is not None:
        value: Any = bindparam("after_value", None if bound else after[0], type_=column.type)
        row_id: Any = bindparam("after_id", None if bound else after[1], type_=key.type)
        if descending:
            query = query.where(or_(column < value, and_(column == value, key < row_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, key > row_id)))
    order = (column.desc(), key.desc()) if descending else (column.asc(), key.asc())
    return query.order_by(*order).limit(bindparam("limit", None if bound else first + 1, type_=Integer))


async def keyset_rows(
    conn: AsyncConnection,
    table: Table,
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
    after: tuple[Any, str] | None,
    sort: str = "CREATED_AT_DESC",
    columns: Sequence[str] | None = None,
) -> KeysetRows:
    """Up to ``first`` matching rows in the sort's order, after the (sort value, id) of a row."""
    query = keyset_query(table, conditions, first=first, after=after, sort=sort, columns=columns)
    rows = await select_rows(conn, query)
    return KeysetRows(rows=list(rows[:first]), has_next_page=len(rows) > first)


async def count(conn: AsyncConnection, table: Table, conditions: Sequence[ColumnElement[bool]]) -> int:
    """How many rows match, exactly."""
    return int((await conn.execute(select(func.count()).select_from(table).where(*conditions))).scalar_one())


async def estimate(conn: AsyncConnection, table: Table, conditions: Sequence[ColumnElement[bool]]) -> int:
    """How many rows match by the planner's statistics (PostgreSQL): as cheap at a million
    rows as at ten, and as close as the statistics are fresh. SQLite keeps no such
    statistics: there it is the exact count."""
    if conn.dialect.name != "postgresql":
        return await count(conn, table, conditions)
    query = select(table.c.id).where(*conditions)
    # IN lists rendered as one parameter per value, in the order the driver takes them.
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
    plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", parameters)).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


async def organization(conn: AsyncConnection, organization_id: str) -> Row:
    result = await conn.execute(select(t.organization).where(t.organization.c.id == organization_id))
    return result.mappings().one()


async def shipment_rows(
    conn: AsyncConnection, organization_id: str, shipment_id: str
) -> tuple[Row, list[Row]] | None:
    """A return shipment and its scans in (date, sequence) order."""
    found = await conn.execute(
        select(t.rma_shipment).where(
            t.rma_shipment.c.id == shipment_id, t.rma_shipment.c.organization_id == organization_id
        )
    )
    row = found.mappings().first()
    if row is None:
        return None
    events = await conn.execute(
        select(t.rma_shipment_event)
        .where(t.rma_shipment_event.c.shipment_id == shipment_id)
        .order_by(t.rma_shipment_event.c.date, t.rma_shipment_event.c.sequence)
    )
    return row, list(events.mappings())


async def voucher_by_resolution(conn: AsyncConnection, resolution_id: str) -> Row | None:
    result = await conn.execute(select(t.voucher).where(t.voucher.c.resolution_id == resolution_id))
    return result.mappings().first()


async def resolution_row(conn: AsyncConnection, organization_id: str, resolution_id: str) -> Row | None:
    table = t.rma_financial_resolution
    result = await conn.execute(
        select(table).where(table.c.id == resolution_id, table.c.organization_id == organization_id)
    )
    return result.mappings().first()


_OWNED = {
    "lines": t.rma_order_line,
    "shipments": t.rma_shipment,
    "financial_resolutions": t.rma_financial_resolution,
}


async def owner_of(conn: AsyncConnection, organization_id: str, kind: str, child_id: str) -> str | None:
    """The id of the RMA order a line, a shipment or a resolution of the organization belongs to."""
    table = _OWNED[kind]
    found = await conn.execute(
        select(table.c.rma_order_id).where(table.c.id == child_id, table.c.organization_id == organization_id)
    )
    rma_id: str | None = found.scalar_one_or_none()
    return rma_id


# The configuration of an organization's first location that has one: ``organization``.
_DEFAULT_CONFIGURATION = Prepared(
    lambda dialect: (
        select(t.rma_configuration)
        .join(t.location, t.location.c.id == t.rma_configuration.c.location_id)
        .where(t.rma_configuration.c.organization_id == bindparam("organization"))
        .order_by(t.location.c.created_at, t.location.c.id)
        .limit(1)
    )
)


async def default_configuration(conn: AsyncConnection, organization_id: str) -> Row | None:
    """The configuration of the organization's first location that has one (read by every
    create that names no location)."""
    found = await _DEFAULT_CONFIGURATION.rows(conn, organization=organization_id)
    return found[0] if found else None


async def location_exists(conn: AsyncConnection, organization_id: str, location_id: str) -> bool:
    located = await conn.execute(
        select(t.location.c.id).where(
            t.location.c.id == location_id, t.location.c.organization_id == organization_id
        )
    )
    return located.first() is not None


async def rma_id_by_external_id(
    conn: AsyncConnection, organization_id: str, tp_app_id: str | None, external_id: str
) -> str | None:
    result = await conn.execute(
        select(t.rma_order.c.id).where(
            t.rma_order.c.organization_id == organization_id,
            t.rma_order.c.tp_app_key == (tp_app_id or ""),
            t.rma_order.c.external_id == external_id,
        )
    )
    found: str | None = result.scalar_one_or_none()
    return found


async def resolution_paid_with(
    conn: AsyncConnection, organization_id: str, reference: str, *, other_than: str
) -> str | None:
    """The executed resolution, other than ``other_than``, that records this payment reference."""
    table = t.rma_financial_resolution
    used = await conn.execute(
        select(table.c.id).where(
            table.c.organization_id == organization_id,
            table.c.reference == reference,
            table.c.status == FinancialResolutionStatus.EXECUTED.value,
            table.c.id != other_than,
        )
    )
    found: str | None = used.scalar_one_or_none()
    return found


async def sku_names(conn: AsyncConnection, organization_id: str, codes: Iterable[str]) -> dict[str, str]:
    """The product name of each of these SKU codes that the catalog knows."""
    products = await conn.execute(
        select(t.sku.c.code, t.product.c.name)
        .join(t.product, t.product.c.id == t.sku.c.product_id)
        .where(t.sku.c.organization_id == organization_id, t.sku.c.code.in_(sorted(set(codes))))
    )
    names: dict[str, str] = dict(products.all())
    return names


async def has_products(conn: AsyncConnection, organization_id: str) -> bool:
    found = await conn.execute(
        select(t.product.c.id).where(t.product.c.organization_id == organization_id).limit(1)
    )
    return found.first() is not None


async def rma_order_by_id(conn: AsyncConnection, rma_id: str) -> Row | None:
    """An RMA order whatever its organization: for a signed link, which names it alone."""
    result = await conn.execute(select(t.rma_order).where(t.rma_order.c.id == rma_id))
    return result.mappings().first()
