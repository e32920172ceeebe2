"""The RMA order repository: loads aggregates in a transaction and saves them with the events
their change recorded, a revision of the new version and the return status of the orders
they return. Every statement of a change to an RMA order is here."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import repository as rows
from rma_graphql.db import tables as t
from rma_graphql.db.event_log import append_events
from rma_graphql.db.revisions import save_revision
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
    ) -> None:
        self.conn = conn
        self.organization_id = organization_id
        self.customer_id = customer_id
        self.actor = actor
        self.system_actor = system_actor
        self.now = now
        self._loaded: dict[str, _Loaded] = {}
        # Versions this transaction wrote, by RMA order id, and their revisions' states.
        self.saved: dict[str, int] = {}
        self.states: dict[str, Mapping[str, Any]] = {}

    async def get(self, rma_id: str, *, lock: bool = False) -> RmaOrder:
        """The RMA order, if the caller may see it; NOT_FOUND otherwise.

        With ``lock`` its row stays locked until the transaction ends (PostgreSQL), so that
        concurrent changes queue instead of both running their step.
        """
        loaded = await rows.load_rma(self.conn, self.organization_id, rma_id, lock=lock)
        if loaded is None or (self.customer_id is not None and loaded[1]["customer_id"] != self.customer_id):
            raise NotFoundError(f"RMA order {rma_id} not found.", rma_id)
        rma, row = loaded
        self._loaded[rma.id] = _Loaded(row, rma.twin())
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
    ) -> Row:
        """Write the RMA order at its next version, if nobody changed it since ``get``; then
        its changed children, the orders' return status, its revision and its events.

        ``columns`` are row values the aggregate does not hold (an update's fields);
        ``lines_replaced`` says the lines are a new set (written whole, not compared);
        ``linked_orders`` the rows of a new set of linked orders, already written.
        Returns the row as written.
        """
        loaded = self._loaded[rma.id]
        read_version = loaded.before.version
        rma.version = read_version + 1
        written = await rows.save_rma(
            self.conn,
            rma,
            expected_version=read_version,
            columns={
                **(columns or {}),
                "last_event_sequence": loaded.row["last_event_sequence"] + len(events),
                "updated_at": self.now,
            },
        )
        if written is None:
            rma.version = read_version
            current = await rows.current_version(self.conn, rma.id)
            raise ConflictError(
                f"The RMA order was changed concurrently: it is now at version {current}.",
                read_version,
                current,
            )
        if lines_replaced:
            await rows.replace_lines(self.conn, self.organization_id, rma.id, rma.lines)
        await rows.save_changed_children(
            self.conn, self.organization_id, rma, loaded.before, lines=not lines_replaced
        )
        row = rows.rma_row_after(loaded.row, written)
        await self.record(
            rma,
            row,
            events,
            first_sequence=int(loaded.row["last_event_sequence"]) + 1,
            linked_orders=linked_orders,
            unlinked_orders=unlinked_orders,
        )
        return row

    async def record(
        self,
        rma: RmaOrder,
        row: Row,
        events: Sequence[RecordedEvent],
        *,
        first_sequence: int,
        linked_orders: list[dict[str, Any]] | None = None,
        unlinked_orders: Collection[str] = (),
    ) -> None:
        """The last writes of every change (a creation's too): the return status of every
        order the RMA returns (or stopped returning), the new revision, then the events,
        whose organization row lock comes last."""
        if linked_orders is None:
            linked_orders = (
                await self.linked_orders(rma.id)
                if rma.id in self._loaded
                else await rows.linked_order_rows(self.conn, rma.id)
            )
        await refresh_return_status(
            self.conn, self.organization_id, {o["order_id"] for o in linked_orders} | set(unlinked_orders)
        )
        self.states[rma.id] = await save_revision(
            self.conn,
            organization_id=self.organization_id,
            row=row,
            lines=rows.line_rows(self.organization_id, rma.id, rma.lines),
            linked_orders=linked_orders,
            financial_resolutions=rows.resolution_rows(
                self.organization_id, rma.id, rma.financial_resolutions
            ),
        )
        await append_events(
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
        )
        self.saved[rma.id] = rma.version


async def refresh_return_status(
    conn: AsyncConnection, organization_id: str, order_ids: Collection[str]
) -> None:
    """Recompute the return status of the orders among ``order_ids`` in this transaction."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    found = await conn.execute(
        select(t.sales_order.c.id, t.sales_order.c.return_status).where(
            t.sales_order.c.organization_id == organization_id, t.sales_order.c.id.in_(ids)
        )
    )
    current: dict[str, str] = {row[0]: row[1] for row in found}
    if not current:
        return
    linked = await conn.execute(
        select(t.rma_linked_order.c.order_id, t.rma_order.c.processing_status)
        .join(t.rma_order, t.rma_order.c.id == t.rma_linked_order.c.rma_order_id)
        .where(
            t.rma_linked_order.c.organization_id == organization_id,
            t.rma_linked_order.c.order_id.in_(list(current)),
        )
    )
    statuses: dict[str, list[ProcessingStatus]] = defaultdict(list)
    for order_id, status in linked:
        statuses[order_id].append(ProcessingStatus(status))
    for order_id, before in current.items():
        after = order_return_status(statuses[order_id]).value
        if after != before:
            await conn.execute(
                update(t.sales_order).where(t.sales_order.c.id == order_id).values(return_status=after)
            )
