"""Return shipments: the parcel's carrier and tracking, and the carrier's scans.

A scan is always recorded and bumps the RMA order's version; the RMA's delivery status
follows the latest scan through the delivery machine (see ``RmaOrder.record_scan``).
A scan the carrier sends twice (same shipment, event and date) is recorded once.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.db.shipment_repository import SCAN_CONSTRAINT, ShipmentRepository
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.shipping import SCAN_DELIVERY_STATUS, ShippingEvent
from rma_graphql.service.rma_orders import owner_of
from rma_graphql.service.unit_of_work import UnitOfWork


@dataclass
class CreateShipment:
    carrier_name: str | None = None
    tracking: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    reference: str | None = None


@dataclass
class ScanCommand:
    event: ShippingEvent
    date: datetime
    message: str | None = None
    location: str | None = None

    def description(self) -> str:
        words = f"{self.event.value} on {self.date.isoformat()}"
        if self.location:
            words += f" at {self.location}"
        return f"{words}: {self.message}" if self.message else words


async def create_shipment(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    command: CreateShipment,
    *,
    expected_version: int | None = None,
) -> str:
    """Add a return shipment to an RMA order; returns the shipment's id."""
    shipment_id = str(uuid.uuid4())
    description = (
        " ".join(part for part in (command.carrier_name, command.tracking) if part) or "return shipment"
    )
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.CREATE_SHIPMENT, expected_version=expected_version)
        events = rma.create_shipment(description)
        shipments = ShipmentRepository(change.conn, caller.organization_id)
        reference = command.reference
        if reference is None:
            # RMA-2026-1001-1, -2, …: the return's reference and the shipment's number.
            number = await shipments.count(rma_id) + 1
            reference = f"{change.rma_orders.row(rma_id)['return_reference']}-{number}"
        await shipments.add(
            {
                "id": shipment_id,
                "rma_order_id": rma_id,
                "sequence": change.rma_orders.next_sequence(rma_id),
                "reference": reference,
                "carrier_name": command.carrier_name,
                "tracking": command.tracking,
                "tracking_url": command.tracking_url,
                "label_url": command.label_url,
                "created_at": change.now,
            }
        )
        await change.rma_orders.save(rma, events)
    return shipment_id


class _RepeatedScanError(Exception):
    """The scan is already recorded: the change is rolled back and nothing moves."""


async def add_scan(
    uow: UnitOfWork,
    caller: Caller,
    shipment_id: str,
    scan: ScanCommand,
    *,
    expected_version: int | None = None,
) -> str:
    """Record a carrier scan on a return shipment; returns the RMA order's id. A scan
    already recorded (the same event at the same time) changes nothing."""
    rma_id = await owner_of(uow, caller, "shipments", shipment_id, "Shipment")
    try:
        async with uow.change(caller) as change:
            rma = await change.load(rma_id, Action.ADD_SHIPMENT_EVENT, expected_version=expected_version)
            status, description = SCAN_DELIVERY_STATUS[scan.event], scan.description()
            events = rma.record_scan(change.now, status=status, scanned_at=scan.date, description=description)
            shipments = ShipmentRepository(change.conn, caller.organization_id)
            if await shipments.has_scan(shipment_id, scan.event.value, scan.date):
                raise _RepeatedScanError
            await shipments.add_scan(
                {
                    "id": str(uuid.uuid4()),
                    "rma_order_id": rma_id,
                    "shipment_id": shipment_id,
                    "sequence": change.rma_orders.next_sequence(rma_id),
                    "event": scan.event.value,
                    "date": scan.date,
                    "message": scan.message,
                    "location": scan.location,
                    "created_at": change.now,
                }
            )
            await change.rma_orders.save(rma, events)
    except _RepeatedScanError:
        pass
    except DuplicateRowError as error:
        # A concurrent copy of the scan committed first: it is recorded once, as it should be.
        if not error.names(*SCAN_CONSTRAINT):
            raise
    return rma_id
