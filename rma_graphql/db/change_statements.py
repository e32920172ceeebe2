"""The statements every change of an RMA order runs, prepared once (db/driver.py): the
read of the row before the change (its children come from the read side's statements),
the compare-and-set update, the changed lines, the revision and the events with their
positions; and a new RMA order's inserts and return number.

A statement's values are bound parameters named ``v_<column>`` (SQLAlchemy keeps the
column names for itself in an insert's VALUES and an update's SET).
"""

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    update,
)

from rma_graphql.db import tables as t
from rma_graphql.db.bulk import conflict_insert
from rma_graphql.db.driver import Prepared, one_of

# The PostgreSQL channel writers NOTIFY on, and server processes with subscribers LISTEN to.
EVENT_CHANNEL = "rma_order_events"


def values_of(names: Iterable[str]) -> dict[str, Any]:
    """An insert's or update's values as bound parameters."""
    return {name: bindparam(f"v_{name}") for name in names}


def bound(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as the bound parameters ``values_of`` names."""
    return {f"v_{name}": value for name, value in values.items()}


# On PostgreSQL the row is read with its children, each an array of the child table's row
# type (the driver decodes them as records by column): one statement, one round trip.
CHILDREN_OF_ROW = {
    "lines": "SELECT c FROM rma_order_line AS c WHERE c.rma_order_id = rma_order.id ORDER BY c.position",
    "financial_resolutions": (
        "SELECT c FROM rma_financial_resolution AS c WHERE c.rma_order_id = rma_order.id "
        "ORDER BY c.created_at, c.id"
    ),
    "linked_orders": (
        "SELECT c FROM rma_linked_order AS c WHERE c.rma_order_id = rma_order.id ORDER BY c.position"
    ),
}
_CHILD_PREFIX = "children__"


def children_column(relation: str) -> str:
    """The column of a loaded row (PostgreSQL) that holds the rows of that relation."""
    return _CHILD_PREFIX + relation


def _load_row(lock: bool, by_ids: bool = False) -> Prepared:
    def build(dialect: str) -> Any:
        children: list[Any] = (
            [
                literal_column(f"ARRAY({sql})").label(children_column(relation))
                for relation, sql in CHILDREN_OF_ROW.items()
            ]
            if dialect == "postgresql"
            else []
        )
        query = (
            select(
                t.rma_order,
                t.rma_configuration.c.auto_accept,
                t.rma_configuration.c.voucher_validity_days,
                *children,
            )
            .join(t.rma_configuration, t.rma_configuration.c.id == t.rma_order.c.configuration_id)
            .where(
                one_of(dialect, t.rma_order.c.id, "ids") if by_ids else t.rma_order.c.id == bindparam("id"),
                t.rma_order.c.organization_id == bindparam("organization"),
            )
        )
        return query.with_for_update(of=t.rma_order) if lock else query

    return Prepared(build)


# The RMA row with the configuration settings its actions depend on, locked or not.
LOAD_ROW = {False: _load_row(False), True: _load_row(True)}
# The same rows by a list of ``ids``: the loads of concurrent changes, read together by the
# read batches (db/read_batches.py) when a change loads outside any transaction.
LOAD_ROWS = _load_row(False, by_ids=True)
REVISION = Prepared(
    lambda dialect: insert(t.rma_order_revision).values(
        values_of(("rma_order_id", "version", "organization_id", "state"))
    )
)
EVENT_COLUMNS = (
    "id",
    "organization_id",
    "rma_order_id",
    "customer_id",
    "position",
    "sequence",
    "type",
    "changes",
    "actor",
    "comment",
    "visibility",
    "data",
    "occurred_at",
    "version",
)
EVENT = Prepared(lambda dialect: insert(t.rma_order_event).values(values_of(EVENT_COLUMNS)))


def _positions(dialect: str) -> Any:
    """Take ``count`` positions from the organization row (SQLite; PostgreSQL takes them in
    ``APPEND_EVENTS``)."""
    organization = t.organization.c
    return (
        update(t.organization)
        .where(organization.id == bindparam("key_id", type_=String))
        .values(last_event_position=organization.last_event_position + bindparam("count", type_=Integer))
        .returning(organization.last_event_position)
    )


POSITIONS = Prepared(_positions)

_INSERTS: dict[tuple[str, tuple[str, ...]], Prepared] = {}
_RMA_UPDATES: dict[tuple[str, ...], Prepared] = {}
_LINE_UPDATES: dict[tuple[str, ...], Prepared] = {}


def row_insert(table: Table, names: Iterable[str]) -> Prepared:
    """The insert of a row of ``table`` with these columns (a new RMA order, its search text,
    its lines), their values bound as ``values_of`` names them; several rows in one round
    trip with ``Prepared.execute_many``. Not ``bulk.insert_rows``: its arrays, one per
    column, take a JSON value that is a list (a line's pictures) for a dimension of the
    array on PostgreSQL, and refuse it."""
    columns = tuple(sorted(names))
    key = (table.name, columns)
    found = _INSERTS.get(key)
    if found is None:
        found = _INSERTS[key] = Prepared(lambda dialect: insert(table).values(values_of(columns)))
    return found


# The organization's next return number, from its counter's row (made at its first create,
# after the organization's own last number), which stays locked until the creating
# transaction ends: ``key_id``.
RETURN_NUMBER = Prepared(
    lambda dialect: (
        conflict_insert(dialect)(t.return_number_counter)
        .values(
            organization_id=bindparam("key_id", type_=String),
            last_return_number=select(t.organization.c.last_return_number + 1)
            .where(t.organization.c.id == bindparam("key_id", type_=String))
            .scalar_subquery(),
        )
        .on_conflict_do_update(
            index_elements=[t.return_number_counter.c.organization_id],
            set_={"last_return_number": t.return_number_counter.c.last_return_number + 1},
        )
        .returning(t.return_number_counter.c.last_return_number)
    )
)


_NEW_RMAS: dict[tuple[tuple[str, ...], ...], Prepared] = {}


def new_rma(names: Iterable[str], line_names: Iterable[str], linked_names: Iterable[str]) -> Prepared:
    """A new RMA order's rows in one statement (PostgreSQL): the organization's next return
    number (``RETURN_NUMBER``, ``key_id``), the RMA row with these columns (``v_<column>``),
    that number and its reference (``reference_prefix`` and the number), its search text (the
    reference in lower case, then ``search_rest``), and its lines and linked orders (``lines``
    and ``linked_orders``: JSON arrays of their rows, with these columns). It gives the number.

    The counter's row stays locked until the create commits (numbers stay gapless), so it
    is taken in the create's last statement but one (the orders it names have their return
    status, read before, set in between): the creates of an organization wait for each other
    while that statement ends and the revision's is sent, not for the round trips of
    separate inserts."""
    key = (tuple(sorted(names)), tuple(line_names), tuple(linked_names))
    found = _NEW_RMAS.get(key)
    if found is None:
        found = _NEW_RMAS[key] = Prepared(lambda dialect: _new_rma(*key))
    return found


def _new_rma(names: tuple[str, ...], line_names: tuple[str, ...], linked_names: tuple[str, ...]) -> Any:
    rma = t.rma_order
    number = RETURN_NUMBER.statement("postgresql").cte("number")
    issued = number.c.last_return_number
    numbered = (
        insert(rma)
        .from_select(
            [*names, "return_number", "return_reference"],
            select(
                *(bindparam(f"v_{name}", type_=rma.c[name].type) for name in names),
                issued,
                bindparam("reference_prefix", type_=String) + cast(issued, String),
            ),
        )
        .returning(rma.c.id, rma.c.organization_id, rma.c.return_reference)
        .cte("rma")
    )
    searched = (
        insert(t.rma_order_search)
        .from_select(
            ["rma_order_id", "organization_id", "search_text"],
            select(
                numbered.c.id,
                numbered.c.organization_id,
                func.lower(numbered.c.return_reference) + bindparam("search_rest", type_=String),
            ),
        )
        .cte("search")
    )
    children = [
        _rows_of_json(table, names, bound)
        for table, names, bound in (
            (t.rma_order_line, line_names, "lines"),
            (t.rma_linked_order, linked_names, "linked_orders"),
        )
    ]
    return select(issued.label("return_number")).add_cte(numbered, searched, *children)


def _rows_of_json(table: Table, names: tuple[str, ...], name: str) -> Any:
    """The insert of ``table``'s rows given as one JSON array bound as ``name`` (a column of
    JSON, a list of pictures say, is taken whole)."""
    given = func.json_populate_recordset(
        literal_column(f"NULL::{table.name}"), cast(bindparam(name, type_=Text), JSON)
    ).table_valued(*names)
    return insert(table).from_select(list(names), select(*(given.c[n] for n in names))).cte(name)


def rma_update(names: Iterable[str]) -> Prepared:
    """The compare-and-set update of these columns of an RMA row: ``key_id``,
    ``expected_version`` and the values; it returns the row's id when it wrote."""
    key = tuple(sorted(names))
    found = _RMA_UPDATES.get(key)
    if found is None:
        found = _RMA_UPDATES[key] = Prepared(
            lambda dialect: (
                update(t.rma_order)
                .where(
                    t.rma_order.c.id == bindparam("key_id"),
                    t.rma_order.c.version == bindparam("expected_version"),
                )
                .values(values_of(key))
                .returning(t.rma_order.c.id)
            )
        )
    return found


# An RMA order's search text, in the table of its own no status change writes: ``key_id``
# and ``v_search_text``.
SEARCH_TEXT_UPDATE = Prepared(
    lambda dialect: (
        update(t.rma_order_search)
        .where(t.rma_order_search.c.rma_order_id == bindparam("key_id"))
        .values(values_of(("search_text",)))
    )
)


def line_update(names: Iterable[str]) -> Prepared:
    """The update of these columns of one line, by ``key_id``."""
    key = tuple(sorted(names))
    found = _LINE_UPDATES.get(key)
    if found is None:
        found = _LINE_UPDATES[key] = Prepared(
            lambda dialect: (
                update(t.rma_order_line)
                .where(t.rma_order_line.c.id == bindparam("key_id"))
                .values(values_of(key))
            )
        )
    return found


# On PostgreSQL one statement keeps the revision, takes the positions, queues the notice and
# writes the events: the organization row is then locked for the commit's round trip only.
# $1 organization, $2 RMA order, $3 count, $4 version, $5 customer, $6 time, $7–$14 the events'
# columns, $15 the revision's state; a compare-and-set update of the RMA row put in front
# (``append_events_sql``) takes the parameters after those, and nothing is written unless it
# wrote.
_APPEND_EVENTS = """
WITH {written}revision AS (
    INSERT INTO rma_order_revision (rma_order_id, version, organization_id, state)
    SELECT $2::varchar, $4::integer, $1::varchar, $15::json{from_written}
),
taken AS (
    UPDATE organization SET last_event_position = last_event_position + $3::integer
    WHERE id = $1::varchar{if_written}
    RETURNING last_event_position,
        pg_notify('{channel}', json_build_object(
            'o', id, 'r', $2::varchar, 'v', $4::integer, 'p', last_event_position)::text) AS notified
)
INSERT INTO rma_order_event (
    id, organization_id, rma_order_id, customer_id, position, sequence, type, changes, actor,
    comment, visibility, data, occurred_at, version)
SELECT e.id, $1::varchar, $2::varchar, $5::varchar, taken.last_event_position - $3::integer + e.n,
    e.sequence, e.type, e.changes, e.actor, e.comment, e.visibility, e.data, $6::timestamptz, $4::integer
FROM taken, unnest($7::varchar[], $8::integer[], $9::varchar[], $10::jsonb[], $11::jsonb[],
    $12::varchar[], $13::varchar[], $14::jsonb[]) WITH ORDINALITY
    AS e(id, sequence, type, changes, actor, comment, visibility, data, n)
RETURNING position
"""
APPEND_PARAMETERS = 15
_APPENDS: dict[str | None, str] = {}


def append_events_sql(written: str | None = None) -> str:
    """The statement that keeps a revision and appends events (PostgreSQL), behind the
    compare-and-set update ``written`` (its SQL as compiled, numbered from $1) when given."""
    found = _APPENDS.get(written)
    if found is None:
        if len(_APPENDS) >= 100:
            _APPENDS.clear()
        shifted = (
            ""
            if written is None
            else re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + APPEND_PARAMETERS}", written)
        )
        found = _APPENDS[written] = _APPEND_EVENTS.format(
            written="" if written is None else f"written AS ({shifted}),\n",
            from_written="" if written is None else " FROM written",
            if_written="" if written is None else " AND EXISTS (SELECT FROM written)",
            channel=EVENT_CHANNEL,
        )
    return found


# The same for several changes of one organization at once (db/write_batches.py): $1 the
# organization; per change ($2–$8) its RMA order, the version it expects and the one it
# writes, customer, time, revision state and number of events; per event ($9–$17) the
# change it belongs to (its ordinal) and its columns; then the RMA rows' new values, one
# array per column. A change is written only where its compare-and-set holds; the positions
# of the changes written follow their order. It returns each event's RMA order and position.
_APPEND_BATCH = """
WITH input AS (
    SELECT * FROM unnest($2::varchar[], $3::integer[], $4::integer[], $5::varchar[],
        $6::timestamptz[], $7::json[], $8::integer[]{value_arrays}) WITH ORDINALITY
        AS i(rma_id, expected_version, version, customer_id, occurred_at, state, events{value_names}, n)
),
written AS (
    UPDATE rma_order SET {assignments} FROM input AS i
    WHERE rma_order.id = i.rma_id AND rma_order.version = i.expected_version
    RETURNING rma_order.id
),
kept AS (
    SELECT i.rma_id, i.version, i.customer_id, i.occurred_at, i.state, i.events, i.n,
        sum(i.events) OVER (ORDER BY i.n) AS upto
    FROM input AS i JOIN written AS w ON w.id = i.rma_id
),
revision AS (
    INSERT INTO rma_order_revision (rma_order_id, version, organization_id, state)
    SELECT k.rma_id, k.version, $1::varchar, k.state FROM kept AS k
),
taken AS (
    UPDATE organization SET last_event_position = last_event_position + (SELECT sum(events) FROM kept)
    WHERE id = $1::varchar AND EXISTS (SELECT FROM kept)
    RETURNING last_event_position - (SELECT sum(events) FROM kept) AS base
),
announced AS MATERIALIZED (
    SELECT k.rma_id, k.version, k.customer_id, k.occurred_at, k.events, k.n, taken.base + k.upto AS last,
        pg_notify('{channel}', json_build_object(
            'o', $1::varchar, 'r', k.rma_id, 'v', k.version, 'p', taken.base + k.upto)::text) AS notified
    FROM taken, kept AS k
)
INSERT INTO rma_order_event (
    id, organization_id, rma_order_id, customer_id, position, sequence, type, changes, actor,
    comment, visibility, data, occurred_at, version)
SELECT e.id, $1::varchar, a.rma_id, a.customer_id, a.last - a.events + e.m,
    e.sequence, e.type, e.changes, e.actor, e.comment, e.visibility, e.data, a.occurred_at, a.version
FROM announced AS a JOIN (
    SELECT u.*, row_number() OVER (PARTITION BY u.owner ORDER BY u.o) AS m
    FROM unnest($9::integer[], $10::varchar[], $11::integer[], $12::varchar[], $13::jsonb[], $14::jsonb[],
        $15::varchar[], $16::varchar[], $17::jsonb[]) WITH ORDINALITY
        AS u(owner, id, sequence, type, changes, actor, comment, visibility, data, o)
) AS e ON e.owner = a.n
RETURNING rma_order_id, position
"""
APPEND_BATCH_PARAMETERS = 17
# Per update shape (the RMA columns it writes): the statement, and how each column's
# values are made what the driver takes (None: as they are).
_APPEND_BATCHES: dict[tuple[str, ...], tuple[str, tuple[Callable[[Any], Any] | None, ...]]] = {}


def append_batch_sql(
    dialect: Any, names: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The statement that writes several changes of one organization whose compare-and-set
    updates write the RMA columns ``names`` (PostgreSQL), and each column's bind processor."""
    found = _APPEND_BATCHES.get(names)
    if found is None:
        columns = [t.rma_order.c[name] for name in names]
        first = APPEND_BATCH_PARAMETERS + 1
        sql = _APPEND_BATCH.format(
            value_arrays="".join(
                f", ${first + index}::{column.type.compile(dialect=dialect)}[]"
                for index, column in enumerate(columns)
            ),
            value_names="".join(f", v_{name}" for name in names),
            assignments=", ".join(f"{name} = i.v_{name}" for name in names),
            channel=EVENT_CHANNEL,
        )
        processors = tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns)
        found = _APPEND_BATCHES[names] = (sql, processors)
    return found
