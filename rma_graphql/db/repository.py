"""Rows to domain objects and back, with Core statements on one connection.

Every statement is scoped by ``organization_id``; the RMA row is written with a
compare-and-set on ``version``.
"""

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import change_statements as statements
from rma_graphql.db import tables as t
from rma_graphql.db.columns import column_names
from rma_graphql.db.driver import Prepared, transaction_open
from rma_graphql.db.read_batches import ReadBatches
from rma_graphql.db.rma_reads import children_by_rma
from rma_graphql.domain.rma_order import (
    FinancialResolution,
    RefundTerms,
    RmaLine,
    RmaOrder,
)
from rma_graphql.domain.statuses import (
    DeliveryStatus,
    ExpectedResolution,
    FinancialResolutionStatus,
    FinancialResolutionType,
    FinancialStatus,
    FulfillmentStatus,
    LineState,
    ProcessingStatus,
    ProductState,
    ReturnReason,
)

Row = Mapping[Any, Any]

# The PostgreSQL channel writers NOTIFY on and every server process LISTENs to.
# Where a transaction keeps the notices it will announce once it commits.


def line_from_row(row: Mapping[Any, Any]) -> RmaLine:
    return RmaLine(
        id=row["id"],
        sku=row["sku"],
        quantity=row["quantity"],
        reason=ReturnReason(row["reason"]),
        price=row["price"],
        label=row["label"],
        reference=row["reference"],
        product_state=ProductState(row["product_state"]) if row["product_state"] else None,
        serial_number=row["serial_number"],
        comment=row["comment"],
        line_state=LineState(row["line_state"]),
        order_line_id=row["order_line_id"],
        pictures=list(row["pictures"] or []),
        received_quantity=row["received_quantity"],
        received_serial_numbers=list(row["received_serial_numbers"] or []),
        inspected_quantity=row["inspected_quantity"],
        accepted_quantity=row["accepted_quantity"],
        restocked_quantity=row["restocked_quantity"],
    )


def resolution_from_row(row: Mapping[Any, Any]) -> FinancialResolution:
    return FinancialResolution(
        id=row["id"],
        type=FinancialResolutionType(row["type"]),
        amount=row["amount"],
        currency=row["currency"],
        status=FinancialResolutionStatus(row["status"]),
        created_at=row["created_at"],
        executed_at=row["executed_at"],
        reference=row["reference"],
        failure_reason=row["failure_reason"],
        provider=row["provider"],
    )


def rma_from_row(
    row: Mapping[Any, Any],
    lines: Sequence[RmaLine] = (),
    resolutions: Sequence[FinancialResolution] = (),
) -> RmaOrder:
    return RmaOrder(
        id=row["id"],
        expected_resolution=ExpectedResolution(row["expected_resolution"]),
        currency=row["currency"],
        lines=list(lines),
        processing_status=ProcessingStatus(row["processing_status"]),
        delivery_status=DeliveryStatus(row["delivery_status"]),
        financial_status=FinancialStatus(row["financial_status"]),
        fulfillment_status=FulfillmentStatus(row["fulfillment_status"]),
        retained_amount_for_shipping=row["retained_amount_for_shipping"],
        apply_return_fee=row["apply_return_fee"],
        return_fee=row["return_fee"],
        auto_generate_financial_resolution=row["auto_generate_financial_resolution"],
        auto_execute_financial_resolution=row["auto_execute_financial_resolution"],
        held_from=ProcessingStatus(row["held_from"]) if row["held_from"] else None,
        anomaly_from=ProcessingStatus(row["anomaly_from"]) if row["anomaly_from"] else None,
        fulfillment_requested_at=row["fulfillment_requested_at"],
        financial_resolutions=list(resolutions),
        scan_status=DeliveryStatus(row["scan_status"]) if row["scan_status"] else None,
        scan_at=row["scan_at"],
        refund_terms=RefundTerms.from_json(row["refund_terms"]),
        version=row["version"],
    )


def rma_state_columns(rma: RmaOrder) -> dict[str, Any]:
    """The columns an action on the aggregate can change."""
    return {
        "expected_resolution": rma.expected_resolution.value,
        "processing_status": rma.processing_status.value,
        "delivery_status": rma.delivery_status.value,
        "financial_status": rma.financial_status.value,
        "fulfillment_status": rma.fulfillment_status.value,
        "held_from": rma.held_from.value if rma.held_from else None,
        "anomaly_from": rma.anomaly_from.value if rma.anomaly_from else None,
        "fulfillment_requested_at": rma.fulfillment_requested_at,
        "retained_amount_for_shipping": rma.retained_amount_for_shipping,
        "apply_return_fee": rma.apply_return_fee,
        "auto_generate_financial_resolution": rma.auto_generate_financial_resolution,
        "auto_execute_financial_resolution": rma.auto_execute_financial_resolution,
        "scan_status": rma.scan_status.value if rma.scan_status else None,
        "scan_at": rma.scan_at,
    }


async def load_rma(
    conn: AsyncConnection,
    organization_id: str,
    rma_id: str,
    *,
    lock: bool = False,
    batches: ReadBatches | None = None,
) -> tuple[RmaOrder, dict[str, Any], list[dict[str, Any]] | None] | None:
    """The RMA order, its row (with the configuration settings its actions depend on) and,
    when read with it, its linked orders' rows.

    On PostgreSQL the row and its children are one statement, run outside any transaction
    unless one is open (read committed reads the same in one or not); with ``lock`` the RMA
    row stays locked until the transaction ends (SQLite serialises writing transactions
    anyway). With ``batches``, a load outside any transaction goes with the loads of
    concurrent changes, as one statement (PostgreSQL; it reads the same, committed rows).
    """
    params = {"organization": organization_id}
    if batches is not None and not lock and not await transaction_open(conn):
        found = await batches.rows(
            statements.LOAD_ROWS, params, key=rma_id, keys_param="ids", key_column="id"
        )
    else:
        found = await statements.LOAD_ROW[lock].rows(conn, begin=lock, id=rma_id, **params)
    if not found:
        return None
    row = dict(found[0])
    linked: list[dict[str, Any]] | None = None
    if statements.children_column("lines") in row:
        line_rows = row.pop(statements.children_column("lines"))
        resolution_rows = row.pop(statements.children_column("financial_resolutions"))
        linked = [dict(one) for one in row.pop(statements.children_column("linked_orders"))]
    else:
        [line_rows] = await children_by_rma(conn, "lines", [rma_id])
        [resolution_rows] = await children_by_rma(conn, "financial_resolutions", [rma_id])
    rma = rma_from_row(
        row,
        [line_from_row(r) for r in line_rows],
        [resolution_from_row(r) for r in resolution_rows],
    )
    rma.auto_accept = bool(row["auto_accept"])
    return rma, row, linked


async def rma_exists(conn: AsyncConnection, rma_id: str) -> bool:
    """Whether any organization has an RMA order with this id."""
    found = await conn.execute(select(t.rma_order.c.id).where(t.rma_order.c.id == rma_id))
    return found.first() is not None


async def current_version(conn: AsyncConnection, rma_id: str) -> int:
    result = await conn.execute(select(t.rma_order.c.version).where(t.rma_order.c.id == rma_id))
    return int(result.scalar_one())


# The column of an RMA order's search text: given with the row's values, kept in a table of
# its own (rma_order_search) that no status change writes.
SEARCH_TEXT = "search_text"


async def insert_rma(conn: AsyncConnection, columns: dict[str, Any], rma: RmaOrder) -> dict[str, Any]:
    """Insert the RMA order, its search text (``columns["search_text"]``, kept in a table of
    its own) and its lines; return the row as written."""
    values = {**columns, **rma_state_columns(rma), "version": rma.version}
    text = values.pop(SEARCH_TEXT)
    await _insert(conn, t.rma_order, [values])
    search = {"rma_order_id": rma.id, "organization_id": columns["organization_id"], "search_text": text}
    await _insert(conn, t.rma_order_search, [search])
    await replace_lines(conn, columns["organization_id"], rma.id, rma.lines, first=True)
    return rma_row_after({}, values)


async def insert_new_rma(
    conn: AsyncConnection,
    columns: dict[str, Any],
    rma: RmaOrder,
    linked_orders: Sequence[tuple[str, str | None]],
    *,
    reference_prefix: str,
    search_rest: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Take the organization's next return number and insert the RMA order with it (its
    reference: ``reference_prefix`` and the number), its search text (the reference in
    lower case, then ``search_rest``), its lines and its linked orders; return the row as
    written and the linked orders' rows. On PostgreSQL in one statement, so that the
    counter's row is locked from the create's last statements on only (``new_rma``)."""
    organization_id = columns["organization_id"]
    if conn.dialect.name != "postgresql":
        number = await next_return_number(conn, organization_id)
        reference = f"{reference_prefix}{number}"
        numbered = {"return_number": number, "return_reference": reference}
        written = await insert_rma(
            conn, {**columns, **numbered, SEARCH_TEXT: reference.casefold() + search_rest}, rma
        )
        return written, await replace_linked_orders(conn, organization_id, rma.id, linked_orders, first=True)
    values = {**columns, **rma_state_columns(rma), "version": rma.version}
    lines = line_rows(organization_id, rma.id, rma.lines)
    linked = linked_order_rows_of(organization_id, rma.id, linked_orders)
    statement = statements.new_rma(
        values, _columns_of(lines, t.rma_order_line), _columns_of(linked, t.rma_linked_order)
    )
    (row,) = await statement.rows(
        conn,
        key_id=organization_id,
        reference_prefix=reference_prefix,
        search_rest=search_rest,
        lines=orjson.dumps(lines).decode(),
        linked_orders=orjson.dumps(linked).decode(),
        **statements.bound(values),
    )
    number = int(row["return_number"])
    numbered = {"return_number": number, "return_reference": f"{reference_prefix}{number}"}
    return rma_row_after({}, {**values, **numbered}), linked


async def update_search_text(conn: AsyncConnection, rma_id: str, text: str) -> None:
    """The RMA order's new search text, in the change's transaction."""
    await statements.SEARCH_TEXT_UPDATE.execute(conn, key_id=rma_id, **statements.bound({SEARCH_TEXT: text}))


@dataclass(frozen=True)
class RowUpdate:
    """The compare-and-set update of an RMA row: it writes only if the row still has the
    version read before the change."""

    statement: Prepared
    params: dict[str, Any]

    async def run(self, conn: AsyncConnection) -> bool:
        """Run it alone; whether it wrote."""
        return bool(await self.statement.rows(conn, **self.params))

    def sql(self, conn: AsyncConnection) -> tuple[str, list[Any]]:
        """Its SQL (PostgreSQL, parameters from $1) and arguments, to run inside another."""
        compiled = self.statement.compiled(conn)
        return compiled.sql, compiled.arguments(self.params)

    @functools.cached_property
    def values(self) -> dict[str, Any]:
        """The columns it writes and their values."""
        return {name[2:]: value for name, value in self.params.items() if name.startswith("v_")}

    @property
    def expected_version(self) -> int:
        return int(self.params["expected_version"])


def rma_update(
    rma: RmaOrder, *, expected_version: int, columns: dict[str, Any]
) -> tuple[dict[str, Any], RowUpdate]:
    """The values the RMA row gets at ``rma.version``, and the update that writes them only if
    the row still has ``expected_version``."""
    values = {**rma_state_columns(rma), **columns, "version": rma.version}
    params = {"key_id": rma.id, "expected_version": expected_version, **statements.bound(values)}
    return values, RowUpdate(statements.rma_update(values), params)


async def replace_lines(
    conn: AsyncConnection,
    organization_id: str,
    rma_id: str,
    lines: Sequence[RmaLine],
    *,
    first: bool = False,
) -> None:
    if not first:
        await conn.execute(delete(t.rma_order_line).where(t.rma_order_line.c.rma_order_id == rma_id))
    await _insert(conn, t.rma_order_line, line_rows(organization_id, rma_id, lines))


async def _insert(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows of one set of columns, with a statement prepared once for them (in one
    round trip)."""
    if not rows:
        return
    insert_row = statements.row_insert(table, rows[0])
    if len(rows) == 1:
        await insert_row.execute(conn, **statements.bound(rows[0]))
    else:
        await insert_row.execute_many(conn, [statements.bound(row) for row in rows])


def line_rows(organization_id: str, rma_id: str, lines: Sequence[RmaLine]) -> list[dict[str, Any]]:
    """The lines as their table rows."""
    return [
        {
            "id": line.id,
            "organization_id": organization_id,
            "rma_order_id": rma_id,
            "position": position,
            "label": line.label,
            "sku": line.sku,
            "reference": line.reference,
            "quantity": line.quantity,
            "reason": line.reason.value,
            "product_state": line.product_state.value if line.product_state else None,
            "line_state": line.line_state.value,
            "price": line.price,
            "serial_number": line.serial_number,
            "comment": line.comment,
            "order_line_id": line.order_line_id,
            "pictures": list(line.pictures) or None,
            "received_quantity": line.received_quantity,
            "received_serial_numbers": list(line.received_serial_numbers) or None,
            "inspected_quantity": line.inspected_quantity,
            "accepted_quantity": line.accepted_quantity,
            "restocked_quantity": line.restocked_quantity,
        }
        for position, line in enumerate(lines)
    ]


def resolution_rows(
    organization_id: str, rma_id: str, resolutions: Sequence[FinancialResolution]
) -> list[dict[str, Any]]:
    """The financial resolutions as their table rows."""
    return [
        {
            "id": resolution.id,
            "organization_id": organization_id,
            "rma_order_id": rma_id,
            "type": resolution.type.value,
            "amount": resolution.amount,
            "currency": resolution.currency,
            "status": resolution.status.value,
            "created_at": resolution.created_at,
            "executed_at": resolution.executed_at,
            "reference": resolution.reference,
            "failure_reason": resolution.failure_reason,
            "provider": resolution.provider,
        }
        for resolution in resolutions
    ]


async def replace_linked_orders(
    conn: AsyncConnection,
    organization_id: str,
    rma_id: str,
    linked_orders: Sequence[tuple[str, str | None]],
    *,
    first: bool = False,
) -> list[dict[str, Any]]:
    """Write the linked orders and return their rows."""
    if not first:
        await conn.execute(delete(t.rma_linked_order).where(t.rma_linked_order.c.rma_order_id == rma_id))
    rows = linked_order_rows_of(organization_id, rma_id, linked_orders)
    if rows:
        await conn.execute(insert(t.rma_linked_order), rows)
    return rows


def linked_order_rows_of(
    organization_id: str, rma_id: str, linked_orders: Sequence[tuple[str, str | None]]
) -> list[dict[str, Any]]:
    """The linked orders (order id, external reference) as their table rows, each a new id."""
    return [
        {
            "id": str(uuid.uuid4()),
            "organization_id": organization_id,
            "rma_order_id": rma_id,
            "position": position,
            "order_id": order_id,
            "external_reference": external_reference,
        }
        for position, (order_id, external_reference) in enumerate(linked_orders)
    ]


def _columns_of(rows: Sequence[Mapping[str, Any]], table: Table) -> tuple[str, ...]:
    """The columns rows give (each gives the same), else the table's."""
    return tuple(rows[0]) if rows else column_names(table)


async def linked_order_rows(conn: AsyncConnection, rma_id: str) -> list[dict[str, Any]]:
    [rows] = await children_by_rma(conn, "linked_orders", [rma_id])
    return [dict(row) for row in rows]


def linked_pairs(rows: Sequence[Row]) -> list[tuple[str, str | None]]:
    """Linked-order rows as the ``(orderId, externalReference)`` pairs commands carry."""
    return [(row["order_id"], row["external_reference"]) for row in rows]


def children_changed(rma: RmaOrder, before: RmaOrder) -> bool:
    """Whether an action changed a line or a financial resolution (``save_changed_children``
    writes them)."""
    return rma.lines != before.lines or rma.financial_resolutions != before.financial_resolutions


async def save_changed_children(
    conn: AsyncConnection, organization_id: str, rma: RmaOrder, before: RmaOrder, *, lines: bool = True
) -> None:
    """Write the lines (unless ``lines`` is false) and financial resolutions an action
    changed, and nothing else."""
    lines_before = {line.id: line for line in before.lines}
    for line, values in zip(rma.lines, line_rows(organization_id, rma.id, rma.lines), strict=True):
        if lines and lines_before.get(line.id) != line:
            del values["id"]
            await statements.line_update(values).execute(conn, key_id=line.id, **statements.bound(values))
    resolutions_before = {resolution.id: resolution for resolution in before.financial_resolutions}
    for resolution, values in zip(
        rma.financial_resolutions,
        resolution_rows(organization_id, rma.id, rma.financial_resolutions),
        strict=True,
    ):
        previous = resolutions_before.get(resolution.id)
        if previous == resolution:
            continue
        if previous is None:
            await conn.execute(insert(t.rma_financial_resolution).values(**values))
        else:
            await conn.execute(
                update(t.rma_financial_resolution)
                .where(t.rma_financial_resolution.c.id == resolution.id)
                .values(**values)
            )


def rma_row_after(before: Row, written: Mapping[str, Any]) -> dict[str, Any]:
    """The RMA order row as a write leaves it: the columns written over the row as read."""
    return {name: written.get(name, before.get(name)) for name in column_names(t.rma_order)}


async def next_return_number(conn: AsyncConnection, organization_id: str) -> int:
    """Issue the organization's next return number inside the creating transaction.

    The update of the organization's counter row locks that row until commit (PostgreSQL)
    or runs under the database write lock (SQLite): numbers are distinct, and a rolled-back
    create frees its number again, so they stay gapless. The organization row itself, which
    every change locks for its event positions, is only read.
    """
    (row,) = await statements.RETURN_NUMBER.rows(conn, key_id=organization_id)
    return int(row["last_return_number"])
