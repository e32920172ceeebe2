"""The statements every change of an RMA order runs, prepared once (db/driver.py): the
read of the row before the change (its children come from the read side's statements),
the compare-and-set update, the changed lines, the revision and the events with their
positions.

A statement's values are bound parameters named ``v_<column>`` (SQLAlchemy keeps the
column names for itself in an insert's VALUES and an update's SET).
"""

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, String, bindparam, insert, literal_column, select, update

from rma_graphql.db import tables as t
from rma_graphql.db.driver import Prepared

# The PostgreSQL channel writers NOTIFY on and every server process LISTENs to.
EVENT_CHANNEL = "rma_order_events"


def values_of(names: Iterable[str]) -> dict[str, Any]:
    """An insert's or update's values as bound parameters."""
    return {name: bindparam(f"v_{name}") for name in names}


def bound(values: dict[str, Any]) -> dict[str, Any]:
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


def _load_row(lock: bool) -> Prepared:
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
                t.rma_order.c.id == bindparam("id"),
                t.rma_order.c.organization_id == bindparam("organization"),
            )
        )
        return query.with_for_update(of=t.rma_order) if lock else query

    return Prepared(build)


# The RMA row with the configuration settings its actions depend on, locked or not.
LOAD_ROW = {False: _load_row(False), True: _load_row(True)}
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

_RMA_UPDATES: dict[tuple[str, ...], Prepared] = {}
_LINE_UPDATES: dict[tuple[str, ...], Prepared] = {}


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
    SELECT $2::varchar, $4::integer, $1::varchar, $15::jsonb{from_written}
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
