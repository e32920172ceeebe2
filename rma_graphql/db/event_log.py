"""The event log: events appended with their positions, announced after commit, and comments."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import change_statements as statements
from rma_graphql.db import tables as t
from rma_graphql.db.driver import raw_rows, transaction_open
from rma_graphql.db.repository import RowUpdate
from rma_graphql.db.write_batches import WriteBatches, Writer
from rma_graphql.domain.rma_order import (
    RecordedEvent,
)

Actor = Mapping[str, Any]


EVENT_CHANNEL = statements.EVENT_CHANNEL


NOTICES = "rma_event_notices"


@dataclass(frozen=True)
class EventNotice:
    """What a committed change announces: ids and positions only, far under NOTIFY's 8000 bytes."""

    organization_id: str
    rma_order_id: str
    version: int
    last_position: int

    def payload(self) -> str:
        return orjson.dumps(
            {"o": self.organization_id, "r": self.rma_order_id, "v": self.version, "p": self.last_position}
        ).decode()

    @classmethod
    def from_payload(cls, payload: str) -> "EventNotice":
        data = orjson.loads(payload)
        return cls(
            organization_id=str(data["o"]),
            rma_order_id=str(data["r"]),
            version=int(data["v"]),
            last_position=int(data["p"]),
        )


def _changes(event: RecordedEvent) -> list[dict[str, str | None]]:
    """An event's status changes as the ``changes`` column keeps them."""
    return [
        {
            "dimension": change.dimension.value,
            "from": None if change.from_status is None else str(change.from_status),
            "to": str(change.to_status),
        }
        for change in event.changes
    ]


@dataclass(frozen=True)
class Written:
    """What a change writes last in one statement on PostgreSQL, with its events: the
    revision's state, the compare-and-set update of the RMA row in front of it if not run
    before, and whether the statement may run outside a transaction (it is the change's only
    write)."""

    revision: Mapping[str, Any]
    update: RowUpdate | None = None
    alone: bool = False


@dataclass(frozen=True)
class _Appended:
    """What ``append_events`` records."""

    organization_id: str
    rma_id: str
    events: Sequence[RecordedEvent]
    first_sequence: int
    version: int
    customer_id: str | None
    actor: Actor
    system_actor: Actor
    now: datetime
    written: Written | None = None


async def append_events(
    conn: AsyncConnection,
    *,
    organization_id: str,
    rma_id: str,
    events: Sequence[RecordedEvent],
    first_sequence: int,
    version: int,
    customer_id: str | None,
    actor: Actor,
    system_actor: Actor,
    now: datetime,
    written: Written | None = None,
    batches: WriteBatches | None = None,
) -> EventNotice | None:
    """Record the events and announce them; call it last in the transaction. ``written``
    (PostgreSQL): the revision and the update of the RMA row go in the same statement; None
    is returned when that update found the row changed (nothing is written).

    The positions come from the organization row, whose lock the transaction then holds
    until it commits (PostgreSQL, where the positions, the notice and the events are one
    statement, so the lock is held for the commit's round trip; SQLite has one writer at a
    time): positions follow commit order, and a reader that has seen position P never sees
    a lower one appear.
    """
    appended = _Appended(
        organization_id,
        rma_id,
        events,
        first_sequence,
        version,
        customer_id,
        actor,
        system_actor,
        now,
        written,
    )
    if conn.dialect.name != "postgresql":
        last_position: int | None = await _append_in_two_statements(conn, appended)
    elif (
        batches is not None
        and written is not None
        and written.update is not None
        and await _may_batch(conn, written)
    ):
        key = (organization_id, tuple(sorted(written.update.values)))
        last_position = await batches.write(conn, key, rma_id, appended, _WRITER)
    else:
        last_position = await _append_in_one_statement(conn, appended)
    if last_position is None:
        return None
    notice = EventNotice(organization_id, rma_id, version, last_position)
    conn.info.setdefault(NOTICES, []).append(notice)
    return notice


async def _append_in_two_statements(conn: AsyncConnection, a: _Appended) -> int:
    """SQLite: the positions from the organization row, then the events; the last position."""
    positions = await statements.POSITIONS.rows(conn, key_id=a.organization_id, count=len(a.events))
    last_position = int(positions[0]["last_event_position"])
    rows = [
        {
            "id": str(uuid.uuid4()),
            "organization_id": a.organization_id,
            "rma_order_id": a.rma_id,
            "customer_id": a.customer_id,
            "position": last_position - len(a.events) + 1 + offset,
            "sequence": a.first_sequence + offset,
            "type": event.type.value,
            "changes": _changes(event),
            "actor": dict(a.system_actor if event.system else a.actor),
            "comment": event.comment,
            "visibility": event.visibility.value if event.visibility else None,
            "data": None if event.data is None else dict(event.data),
            "occurred_at": a.now,
            "version": a.version,
        }
        for offset, event in enumerate(a.events)
    ]
    await statements.EVENT.execute_many(conn, [statements.bound(row) for row in rows])
    return last_position


async def _append_in_one_statement(conn: AsyncConnection, a: _Appended) -> int | None:
    """PostgreSQL: the revision, the positions, the notice (delivered to every listening
    process when, and only if, the transaction commits) and the events in one statement,
    behind the RMA row's update when given; the last position (None: the update found the
    row changed)."""
    if a.written is None:
        raise ValueError("PostgreSQL keeps the revision with the events")
    update_sql, update_arguments = a.written.update.sql(conn) if a.written.update else (None, ())
    rows = await raw_rows(
        conn,
        statements.append_events_sql(update_sql),
        a.organization_id,
        a.rma_id,
        len(a.events),
        a.version,
        a.customer_id,
        a.now,
        *_event_arrays([a]),
        orjson.dumps(a.written.revision).decode(),
        *update_arguments,
        begin=not a.written.alone,
    )
    return max(int(row["position"]) for row in rows) if rows else None


def _event_arrays(appended: Sequence[_Appended]) -> list[list[Any]]:
    """The events of these changes, one array per column (new ids, sequences, types,
    changes, actors, comments, visibilities, data), the changes' events in order."""
    pairs = [(a, offset, event) for a in appended for offset, event in enumerate(a.events)]
    return [
        [str(uuid.uuid4()) for _ in pairs],
        [a.first_sequence + offset for a, offset, _ in pairs],
        [event.type.value for _, _, event in pairs],
        [orjson.dumps(_changes(event)).decode() for _, _, event in pairs],
        [orjson.dumps(dict(a.system_actor if event.system else a.actor)).decode() for a, _, event in pairs],
        [event.comment for _, _, event in pairs],
        [event.visibility.value if event.visibility else None for _, _, event in pairs],
        [None if event.data is None else orjson.dumps(event.data).decode() for _, _, event in pairs],
    ]


async def _may_batch(conn: AsyncConnection, written: Written) -> bool:
    """Whether the change's statement may go with those of other changes: it is its only
    write, outside any transaction (written alone it would commit by itself too)."""
    return written.alone and not await transaction_open(conn)


async def _append_together(conn: AsyncConnection, batch: Sequence[_Appended]) -> list[int | None]:
    """PostgreSQL: several changes of one organization in one statement, outside any
    transaction; the last position of each (None: its RMA row had changed)."""
    first = batch[0]
    written = [a.written for a in batch if a.written is not None]
    updates = [w.update for w in written if w.update is not None]
    if len(updates) != len(batch):
        raise ValueError("a batch holds changes with their RMA row's update")
    values = [update.values for update in updates]
    names = tuple(sorted(values[0]))
    sql, processors = statements.append_batch_sql(conn.dialect, names)
    columns = [
        [one[name] if one[name] is None or processor is None else processor(one[name]) for one in values]
        for name, processor in zip(names, processors, strict=True)
    ]
    rows = await raw_rows(
        conn,
        sql,
        first.organization_id,
        [a.rma_id for a in batch],
        [update.expected_version for update in updates],
        [a.version for a in batch],
        [a.customer_id for a in batch],
        [a.now for a in batch],
        [orjson.dumps(w.revision).decode() for w in written],
        [len(a.events) for a in batch],
        [n for n, a in enumerate(batch, 1) for _ in a.events],
        *_event_arrays(batch),
        *columns,
        begin=False,
    )
    last: dict[str, int] = {}
    for row in rows:
        rma_id, position = row["rma_order_id"], int(row["position"])
        last[rma_id] = max(position, last.get(rma_id, position))
    return [last.get(a.rma_id) for a in batch]


_WRITER: Writer[_Appended] = Writer(alone=_append_in_one_statement, together=_append_together)


async def insert_comment(
    conn: AsyncConnection,
    *,
    organization_id: str,
    rma_id: str,
    sequence: int,
    text: str,
    visibility: str,
    author: Actor,
    now: datetime,
) -> str:
    comment_id = str(uuid.uuid4())
    await conn.execute(
        insert(t.rma_order_comment).values(
            id=comment_id,
            organization_id=organization_id,
            rma_order_id=rma_id,
            sequence=sequence,
            text=text,
            visibility=visibility,
            author=dict(author),
            created_at=now,
        )
    )
    return comment_id
