"""The RMA order repository: loads aggregates in a transaction and saves them with the events
their change recorded, a revision of the new version and the return status of the orders
they return. Every statement of a change to an RMA order is here."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import repository as rows
from rma_graphql.db import tables as t
from rma_graphql.db.driver import Prepared, one_of
from rma_graphql.db.event_log import Written, append_events
from rma_graphql.db.read_batches import ReadBatches
from rma_graphql.db.revisions import Revision, revision_state, save_revision
from rma_graphql.db.write_batches import WriteBatches
from rma_graphql.domain.eligibility import order_return_status
from rma_graphql.domain.errors import ConflictError, NotFoundError
from rma_graphql.domain.rma_order import RecordedEvent, RmaOrder
from rma_graphql.domain.statuses import ProcessingStatus

Row = Mapping[Any, Any]
Actor = Mapping[str, Any]


@dataclass
class _Loaded:
    row: Row  # as read, with the configuration settings its actions depend on
    before: RmaOrder  # the aggregate as read: what a save compares children against
    # The linked orders' rows, once read (a change that relinks passes its new ones).
    linked_orders: list[dict[str, Any]] | None = None


class RmaOrderRepository:
    """The RMA orders of one organization, seen by one caller, in one transaction."""

    def __init__(
        self,
        conn: AsyncConnection,
        organization_id: str,
        *,
        customer_id: str | None,
        actor: Actor,
        system_actor: Actor,
        now: datetime,
        read_batches: ReadBatches | None = None,
        write_batches: WriteBatches | None = None,
    ) -> None:
        """``read_batches``: where a load outside any transaction is read with those of
        concurrent changes (PostgreSQL); ``write_batches``: where a change whose only write is
        its last statement may be written with concurrent ones (db/write_batches.py)."""
        self.conn = conn
        self.read_batches = read_batches if conn.dialect.name == "postgresql" else None
        self.write_batches = write_batches
        self.organization_id = organization_id
        self.customer_id = customer_id
        self.actor = actor
        self.system_actor = system_actor
        self.now = now
        self._loaded: dict[str, _Loaded] = {}
        # Versions this transaction wrote, by RMA order id, and their revisions' states.
        self.saved: dict[str, int] = {}
        self.states: dict[str, Revision] = {}

    async def get(self, rma_id: str, *, lock: bool = False) -> RmaOrder:
        """The RMA order, if the caller may see it; NOT_FOUND otherwise.

        With ``lock`` its row stays locked until the transaction ends (PostgreSQL), so that
        concurrent changes queue instead of both running their step.
        """
        loaded = await rows.load_rma(
            self.conn, self.organization_id, rma_id, lock=lock, batches=self.read_batches
        )
        if loaded is None or (self.customer_id is not None and loaded[1]["customer_id"] != self.customer_id):
            raise NotFoundError(f"RMA order {rma_id} not found.", rma_id)
        rma, row, linked_orders = loaded
        self._loaded[rma.id] = _Loaded(row, rma.twin(), linked_orders)
        return rma

    def row(self, rma_id: str) -> Row:
        """The RMA order's row as ``get`` read it."""
        return self._loaded[rma_id].row

    async def linked_orders(self, rma_id: str) -> list[dict[str, Any]]:
        """The orders the RMA order returns from, read once per change (its revision keeps
        them too)."""
        loaded = self._loaded[rma_id]
        if loaded.linked_orders is None:
            loaded.linked_orders = await rows.linked_order_rows(self.conn, rma_id)
        return loaded.linked_orders

    def next_sequence(self, rma_id: str) -> int:
        """The sequence number the first event of this change gets."""
        return int(self._loaded[rma_id].row["last_event_sequence"]) + 1

    async def save(
        self,
        rma: RmaOrder,
        events: Sequence[RecordedEvent],
        *,
        columns: Mapping[str, Any] | None = None,
        lines_replaced: bool = False,
        linked_orders: list[dict[str, Any]] | None = None,
        unlinked_orders: Collection[str] = (),
        last: bool = False,
    ) -> Row:
        """Write the RMA order at its next version, if nobody changed it since ``get``; then
        its changed children, the orders' return status, its revision and its events.

        ``columns``: row values the aggregate does not hold (the search text among them,
        written to its own table); ``lines_replaced``: the lines are a new set;
        ``linked_orders``: the rows of a new set, already written; ``last``:
        no statement of the change follows. On PostgreSQL a change that writes no child and
        no order's return status is one statement (update, revision, events), without a
        transaction when it is the change's only write and ``last``. Returns the row.
        """
        loaded = self._loaded[rma.id]
        read_version = loaded.before.version
        rma.version = read_version + 1
        columns = dict(columns or {})
        if await self._search_text(rma.id, columns):
            last = False  # a statement ran before the update: not a one-statement change
        columns["last_event_sequence"] = loaded.row["last_event_sequence"] + len(events)
        values, update = rows.rma_update(
            rma, expected_version=read_version, columns={**columns, "updated_at": self.now}
        )
        pending: rows.RowUpdate | None = update
        if not self._in_one_statement(rma, events, lines_replaced):
            if not await update.run(self.conn):
                raise await self._conflict(rma, read_version)
            pending = None
            if lines_replaced:
                await rows.replace_lines(self.conn, self.organization_id, rma.id, rma.lines)
            await rows.save_changed_children(
                self.conn, self.organization_id, rma, loaded.before, lines=not lines_replaced
            )
        row = rows.rma_row_after(loaded.row, values)
        recorded = await self.record(
            rma,
            row,
            events,
            first_sequence=int(loaded.row["last_event_sequence"]) + 1,
            linked_orders=linked_orders,
            unlinked_orders=unlinked_orders,
            update=pending,
            last=last,
            orders_may_change=rma.processing_status != loaded.before.processing_status
            or linked_orders is not None
            or bool(unlinked_orders),
        )
        if not recorded:
            raise await self._conflict(rma, read_version)
        return row

    async def _search_text(self, rma_id: str, columns: dict[str, Any]) -> bool:
        """Write the search text given among ``columns`` (taken out of them) to its own
        table's row, in the change's transaction; whether it was given."""
        text = columns.pop(rows.SEARCH_TEXT, None)
        if text is not None:
            await rows.update_search_text(self.conn, rma_id, text)
        return text is not None

    def _in_one_statement(self, rma: RmaOrder, events: Sequence[RecordedEvent], lines_replaced: bool) -> bool:
        """Whether the RMA row's update can go with the revision and events (PostgreSQL, no
        child written)."""
        return (
            self.conn.dialect.name == "postgresql"
            and bool(events)
            and not lines_replaced
            and not rows.children_changed(rma, self._loaded[rma.id].before)
        )

    async def _conflict(self, rma: RmaOrder, read_version: int) -> ConflictError:
        rma.version = read_version
        current = await rows.current_version(self.conn, rma.id)
        return ConflictError(
            f"The RMA order was changed concurrently: it is now at version {current}.",
            read_version,
            current,
        )

    async def _linked_orders_of(self, rma_id: str) -> list[dict[str, Any]]:
        if rma_id in self._loaded:
            return await self.linked_orders(rma_id)
        return await rows.linked_order_rows(self.conn, rma_id)

    async def _revision(
        self, state: Mapping[str, Any], update: rows.RowUpdate | None, *, last: bool
    ) -> Written | None:
        """Keep the revision now (SQLite), or say what goes with the events (PostgreSQL):
        the revision, the RMA row's update not run yet, and whether the statement is the
        change's only write (``last`` and nothing written before it)."""
        if self.conn.dialect.name != "postgresql":
            await save_revision(self.conn, organization_id=self.organization_id, state=state)
            return None
        return Written(state, update, alone=last and update is not None)

    async def record(
        self,
        rma: RmaOrder,
        row: Row,
        events: Sequence[RecordedEvent],
        *,
        first_sequence: int,
        linked_orders: list[dict[str, Any]] | None = None,
        unlinked_orders: Collection[str] = (),
        update: rows.RowUpdate | None = None,
        last: bool = False,
        orders_may_change: bool = True,
        order_statuses: Mapping[str, str] | None = None,
    ) -> bool:
        """The last writes of every change (a creation's too): the return status of every
        order the RMA returns (or stopped returning), the new revision, then the events,
        whose organization row lock comes last. ``update``: the RMA row's compare-and-set
        update, not run yet (PostgreSQL), written with them; False when it found the row
        changed (nothing is written). ``orders_may_change``: false when neither the processing
        status nor the linked orders changed (their return status cannot have either).
        ``order_statuses``: the orders' new return statuses, read before (a create's)."""
        if linked_orders is None:
            linked_orders = await self._linked_orders_of(rma.id)
        statuses = order_statuses
        if statuses is None:
            statuses = await self._order_statuses(rma, linked_orders, unlinked_orders, orders_may_change)
        if statuses and update is not None:
            # The RMA row is locked before any order's, as in every change.
            if not await update.run(self.conn):
                return False
            update = None
        await set_return_status(self.conn, statuses)
        revision = Revision(
            row=dict(row),
            lines=rows.line_rows(self.organization_id, rma.id, rma.lines),
            linked_orders=[dict(order) for order in linked_orders],
            financial_resolutions=rows.resolution_rows(
                self.organization_id, rma.id, rma.financial_resolutions
            ),
        )
        notice = await append_events(
            self.conn,
            organization_id=self.organization_id,
            rma_id=rma.id,
            events=events,
            first_sequence=first_sequence,
            version=rma.version,
            customer_id=row["customer_id"],
            actor=self.actor,
            system_actor=self.system_actor,
            now=self.now,
            written=await self._revision(revision_state(revision), update, last=last),
            batches=self.write_batches,
        )
        if notice is None:
            return False
        self.states[rma.id] = revision
        self.saved[rma.id] = rma.version
        return True

    async def _order_statuses(
        self,
        rma: RmaOrder,
        linked_orders: list[dict[str, Any]],
        unlinked_orders: Collection[str],
        orders_may_change: bool,
    ) -> dict[str, str]:
        """The new return status of the orders the RMA order returns (or stopped returning)
        whose status it changes."""
        order_ids = {o["order_id"] for o in linked_orders} | set(unlinked_orders) if orders_may_change else ()
        return await return_status_changes(
            self.conn, self.organization_id, order_ids, changing=(rma.id, rma.processing_status)
        )


def _return_statuses(dialect: str) -> Any:
    """The orders among ``keys`` of an organization, their return status, and the RMA orders
    returning from each with their processing status (one row per pair, or one without)."""
    order, linked, rma = t.sales_order.c, t.rma_linked_order.c, t.rma_order.c
    returning = t.rma_linked_order.join(t.rma_order, rma.id == linked.rma_order_id)
    return (
        select(order.id, order.return_status, linked.rma_order_id, rma.processing_status)
        .select_from(
            t.sales_order.outerjoin(
                returning,
                and_(linked.order_id == order.id, linked.organization_id == bindparam("organization")),
            )
        )
        .where(order.organization_id == bindparam("organization"), one_of(dialect, order.id, "keys"))
    )


_RETURN_STATUSES = Prepared(_return_statuses)


async def return_status_changes(
    conn: AsyncConnection,
    organization_id: str,
    order_ids: Collection[str],
    *,
    changing: tuple[str, ProcessingStatus] | None = None,
    new: ProcessingStatus | None = None,
) -> dict[str, str]:
    """The orders among ``order_ids`` whose return status is no longer what their RMA orders
    make it, and the status each should have. ``changing``: an RMA order and the processing
    status this change gives it (not written yet). ``new``: the processing status of an RMA
    order not written yet that returns from every one of them (a create, read before its
    rows are written). One read (outside any transaction on PostgreSQL when none is open:
    it locks nothing)."""
    if not order_ids:
        return {}
    found = await _RETURN_STATUSES.rows(
        conn, begin=False, organization=organization_id, keys=sorted(set(order_ids))
    )
    current: dict[str, str] = {}
    statuses: dict[str, list[ProcessingStatus]] = defaultdict(list)
    for row in found:
        current[row["id"]] = row["return_status"]
        if row["rma_order_id"] is None:
            continue
        if changing is not None and row["rma_order_id"] == changing[0]:
            statuses[row["id"]].append(changing[1])
        else:
            statuses[row["id"]].append(ProcessingStatus(row["processing_status"]))
    if new is not None:
        for order_id in current:
            statuses[order_id].append(new)
    changes = {}
    for order_id, before in current.items():
        after = order_return_status(statuses[order_id]).value
        if after != before:
            changes[order_id] = after
    return changes


async def set_return_status(conn: AsyncConnection, statuses: Mapping[str, str]) -> None:
    for order_id, status in sorted(statuses.items()):
        await conn.execute(
            update(t.sales_order).where(t.sales_order.c.id == order_id).values(return_status=status)
        )
