"""The warehouse's work on a return: receiving, inspection, restocking and replacement orders.

Stock changes are recorded as inventory movements beside the SKU's stock at a location,
in the transaction of the change that causes them: a RESTOCK inspection adds its units
exactly once (one movement per inspection, unique), and a replacement order takes its
units out of the stock of the return's location, or is refused when they are not there.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rma_graphql.db.catalog_repository import CatalogRepository
from rma_graphql.db.warehouse_repository import WarehouseRepository
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, CommandFieldError
from rma_graphql.domain.statuses import Disposition, InspectionResult, OrderStatus, ProductState
from rma_graphql.service import catalog
from rma_graphql.service.rma_orders import owner_of
from rma_graphql.service.unit_of_work import Change, UnitOfWork

MAX_SERIAL_NUMBERS = 1000


class MovementReason:
    RESTOCK = "RETURN_RESTOCK"
    REPLACEMENT = "REPLACEMENT_ORDER"


# Receiving


async def receive_line(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    line_id: str,
    quantity: int,
    serial_numbers: list[str],
    *,
    expected_version: int | None = None,
) -> str:
    """Record units of a line as received; more than the line announced flags an ANOMALY."""
    if quantity <= 0:
        raise BadUserInputError("A received quantity is at least 1.", "quantity")
    if len(serial_numbers) > min(quantity, MAX_SERIAL_NUMBERS):
        raise BadUserInputError(
            f"{len(serial_numbers)} serial numbers for {quantity} received unit(s).", "serialNumbers"
        )
    for i, serial in enumerate(serial_numbers):
        if not serial.strip() or len(serial) > 255:
            raise BadUserInputError("A serial number has 1 to 255 characters.", f"serialNumbers[{i}]")
        if serial in serial_numbers[:i]:
            raise BadUserInputError(f"Serial number {serial!r} is given twice.", f"serialNumbers[{i}]")

    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.RECEIVE_LINE, expected_version=expected_version)
        if not any(line.id == line_id for line in rma.lines):
            raise BadUserInputError(f"The RMA order has no line {line_id}.", "lineId")
        events = rma.perform(
            Action.RECEIVE_LINE,
            now=change.now,
            line_id=line_id,
            quantity=quantity,
            serial_numbers=serial_numbers,
        )
        await change.rma_orders.save(rma, events)
    return rma_id


# Inspection


@dataclass
class InspectCommand:
    quantity: int
    result: InspectionResult
    disposition: Disposition
    product_state: ProductState | None = None
    notes: str | None = None


async def inspect_line(
    uow: UnitOfWork,
    caller: Caller,
    line_id: str,
    command: InspectCommand,
    *,
    expected_version: int | None = None,
) -> str:
    """Record one inspection of received units of a line; RESTOCK puts them back in stock."""
    if command.quantity <= 0:
        raise CommandFieldError("An inspected quantity is at least 1.", "quantity")
    rma_id = await owner_of(uow, caller, "lines", line_id, "RMA order line")
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.INSPECT_LINE, expected_version=expected_version)
        events = rma.perform(
            Action.INSPECT_LINE,
            now=change.now,
            line_id=line_id,
            quantity=command.quantity,
            result=command.result,
            disposition=command.disposition,
            product_state=command.product_state,
            notes=command.notes,
        )
        sku_id = None
        if command.disposition is Disposition.RESTOCK:
            sku_id = await _restocked_sku(
                CatalogRepository(change.conn, caller.organization_id), rma.line(line_id).sku
            )
        await _record_inspection(change, caller, rma_id, line_id, command, sku_id)
        await change.rma_orders.save(rma, events)
    return rma_id


async def _restocked_sku(catalog: CatalogRepository, sku: str) -> str:
    found = await catalog.sku_by_code(sku)
    if found is None:
        raise CommandFieldError(
            f"SKU {sku!r} is not in the catalog, so its units cannot be restocked.", "disposition"
        )
    return str(found["id"])


async def _record_inspection(
    change: Change, caller: Caller, rma_id: str, line_id: str, command: InspectCommand, sku_id: str | None
) -> None:
    """The inspection's row; restocked units back in the location's stock, with their movement."""
    inspection_id = str(uuid.uuid4())
    row = change.rma_orders.row(rma_id)
    warehouse = WarehouseRepository(change.conn, caller.organization_id)
    await warehouse.add_inspection(
        {
            "id": inspection_id,
            "rma_order_id": rma_id,
            "line_id": line_id,
            "sequence": change.rma_orders.next_sequence(rma_id),
            "quantity": command.quantity,
            "product_state": command.product_state.value if command.product_state else None,
            "result": command.result.value,
            "disposition": command.disposition.value,
            "notes": command.notes,
            "inspector": dict(caller.actor),
            "created_at": change.now,
        }
    )
    if sku_id is None:
        return
    await warehouse.add_movement(
        {
            "sku_id": sku_id,
            "location_id": row["location_id"],
            "quantity": command.quantity,
            "reason": MovementReason.RESTOCK,
            "rma_order_id": rma_id,
            "inspection_id": inspection_id,
            "created_at": change.now,
        }
    )
    await CatalogRepository(change.conn, caller.organization_id).add_stock(
        sku_id, row["location_id"], command.quantity
    )


# Replacement orders


@dataclass
class ReplacementLine:
    sku: str
    quantity: int


async def _reserve(
    warehouse: WarehouseRepository, location_id: str, line: Mapping[str, Any], path: str
) -> None:
    """Take a line's units out of the location's stock, or refuse when they are not all there."""
    if not await warehouse.take_stock(line["sku_id"], location_id, line["quantity"]):
        available = await warehouse.stock_at(line["sku_id"], location_id)
        raise BadUserInputError(
            f"Only {available} unit(s) of {line['sku']} are in stock at the return's location; "
            f"{line['quantity']} requested.",
            f"{path}.quantity",
            reason="INSUFFICIENT_STOCK",
        )


async def create_replacement_order(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    lines: list[ReplacementLine],
    *,
    expected_version: int | None = None,
) -> str:
    """A free sales order that replaces returned goods, its units reserved from the stock of
    the return's location; returns the order's id."""
    if not lines:
        raise BadUserInputError("A replacement order has at least one line.", "lines")
    order_id = str(uuid.uuid4())
    description = "replacement order: " + ", ".join(f"{line.quantity} × {line.sku}" for line in lines)
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.CREATE_REPLACEMENT_ORDER, expected_version=expected_version)
        events = rma.perform(Action.CREATE_REPLACEMENT_ORDER, now=change.now, description=description)
        row = change.rma_orders.row(rma_id)
        await _add_replacement_order(change, row, order_id, lines, change.now)
        await change.rma_orders.save(rma, events)
    return order_id


async def _add_replacement_order(
    change: Change,
    row: Mapping[Any, Any],
    order_id: str,
    lines: list[ReplacementLine],
    now: datetime,
) -> None:
    """The order (for the customer of the returned order), its lines, and their units
    taken out of the location's stock."""
    rma_id = row["id"]
    orders = CatalogRepository(change.conn, change.caller.organization_id)
    warehouse = WarehouseRepository(change.conn, change.caller.organization_id)
    commands = [
        catalog.OrderLineCommand(sku=line.sku, quantity=line.quantity, unit_price=0) for line in lines
    ]
    order_lines = await catalog.order_lines(orders, order_id, commands, row["currency"], path="lines")
    # RMA-2026-1001-R1, -R2, …: the return's reference and the replacement's number.
    reference = f"{row['return_reference']}-R{await warehouse.replacement_count(rma_id) + 1}"
    await orders.add(
        "orders",
        {
            "id": order_id,
            "external_reference": reference,
            "tp_app_id": None,
            "tp_app_key": "",
            "customer_id": await warehouse.returning_customer(rma_id),
            "currency": row["currency"],
            "shipping_amount": 0,
            "status": OrderStatus.PAID.value,
            "ordered_at": now,
            "replacement_for_rma_id": rma_id,
            "search_text": catalog.search_text(reference, *(line["sku"] for line in order_lines)),
            "created_at": now,
            "updated_at": now,
        },
    )
    await orders.add_order_lines(order_lines)
    for i, line in enumerate(order_lines):
        await _reserve(warehouse, row["location_id"], line, f"lines[{i}]")
        await warehouse.add_movement(
            {
                "sku_id": line["sku_id"],
                "location_id": row["location_id"],
                "quantity": -line["quantity"],
                "reason": MovementReason.REPLACEMENT,
                "rma_order_id": rma_id,
                "sales_order_id": order_id,
                "created_at": now,
            }
        )
