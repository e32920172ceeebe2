"""GraphQL for what may be returned and how it travels back: returnable items and shipments."""

from datetime import datetime

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import ReturnRefusalReason, ShippingEventEnum
from rma_graphql.api.inputs import LONG_TEXT, _utc, parse_uuid, text
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import RmaShipment
from rma_graphql.domain import access
from rma_graphql.domain.eligibility import LineAssessment
from rma_graphql.service import queries, return_requests
from rma_graphql.service import shipments as shipment_service
from rma_graphql.service.currency import to_major


@strawberry.type
class ReturnableItem:
    """One order line: how many units may still be returned and, when none, why."""

    order_line_id: str
    sku: str
    label: str
    ordered_quantity: int
    returned_quantity: int = strawberry.field(description="Units already in active RMA orders.")
    returnable_quantity: int
    unit_price: float
    reason: ReturnRefusalReason | None = strawberry.field(
        description="Why nothing is returnable; the code rmaOrderCreate would refuse with."
    )
    message: str | None
    return_deadline: datetime | None = strawberry.field(
        description="When the return window closes (null: no window, or not delivered yet)."
    )

    @classmethod
    def from_assessment(cls, assessment: LineAssessment, currency: str) -> "ReturnableItem":
        line, refusal = assessment.line, assessment.refusal
        return cls(
            order_line_id=line.id,
            sku=line.sku,
            label=line.label,
            ordered_quantity=line.quantity,
            returned_quantity=line.returned,
            returnable_quantity=assessment.returnable,
            unit_price=to_major(line.unit_price, currency),
            reason=refusal.code if refusal else None,
            message=refusal.message if refusal else None,
            return_deadline=assessment.deadline,
        )


@strawberry.type
class ReturnsQuery:
    @strawberry.field(
        description="Per line of an order, what may still be returned under the location's return policy "
        "(the organization's default location when locationId is omitted): the same rules as rmaOrderCreate.",
        **scoped(access.CREATE_RMA_ORDERS),
    )
    async def returnable_items(
        self, info: RmaInfo, order_id: str, location_id: str | None = None
    ) -> list[ReturnableItem]:
        ctx = context_of(info)
        order_id = parse_uuid(order_id, "orderId")
        location = parse_uuid(location_id, "locationId") if location_id is not None else None
        order, assessments = await return_requests.returnable_items(
            ctx.uow, ctx.authenticated, order_id, location
        )
        return [ReturnableItem.from_assessment(a, order.currency) for a in assessments]


@strawberry.input
class RmaShipmentInput:
    carrier_name: str | None = None
    tracking: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    reference: str | None = strawberry.field(
        default=None,
        description="Defaults to the return reference and the shipment's number: RMA-2026-1001-1.",
    )

    def to_command(self) -> shipment_service.CreateShipment:
        p = "input"
        return shipment_service.CreateShipment(
            carrier_name=text(self.carrier_name, f"{p}.carrierName"),
            tracking=text(self.tracking, f"{p}.tracking"),
            tracking_url=text(self.tracking_url, f"{p}.trackingUrl", 2048),
            label_url=text(self.label_url, f"{p}.labelUrl", 2048),
            reference=text(self.reference, f"{p}.reference", required=self.reference is not None),
        )


@strawberry.input
class RmaShipmentEventInput:
    event: ShippingEventEnum
    date: datetime = strawberry.field(description="When the carrier scanned the parcel, with its UTC offset.")
    message: str | None = None
    location: str | None = None

    def to_command(self) -> shipment_service.ScanCommand:
        p = "input"
        date = _utc(self.date, f"{p}.date")
        assert date is not None
        return shipment_service.ScanCommand(
            event=self.event,
            date=date,
            message=text(self.message, f"{p}.message", LONG_TEXT),
            location=text(self.location, f"{p}.location"),
        )


async def _shipment(info: RmaInfo, shipment_id: str) -> RmaShipment:
    ctx = context_of(info)
    row, events = await queries.shipment(ctx.uow, ctx.authenticated.organization_id, shipment_id)
    return RmaShipment.from_rows(row, events)


@strawberry.type
class ShipmentMutation:
    @strawberry.mutation(
        description="Add a return shipment to an RMA order: one SHIPMENT_CREATED event and a new version.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_shipment_create(
        self, info: RmaInfo, rma_order_id: str, input: RmaShipmentInput, expected_version: int | None = None
    ) -> RmaShipment:
        ctx = context_of(info)
        rma_id = parse_uuid(rma_order_id, "rmaOrderId")
        shipment_id = await shipment_service.create_shipment(
            ctx.uow, ctx.authenticated, rma_id, input.to_command(), expected_version=expected_version
        )
        return await _shipment(info, shipment_id)

    @strawberry.mutation(
        description="Record a carrier scan: always kept, one SHIPMENT_SCANNED event and a new version; the "
        "RMA's delivery status follows the latest scan when the delivery machine allows. A scan sent twice "
        "(same event and date) is recorded once.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_shipment_add_event(
        self,
        info: RmaInfo,
        shipment_id: str,
        input: RmaShipmentEventInput,
        expected_version: int | None = None,
    ) -> RmaShipment:
        ctx = context_of(info)
        shipment_id = parse_uuid(shipment_id, "shipmentId")
        command = input.to_command()
        await shipment_service.add_scan(
            ctx.uow, ctx.authenticated, shipment_id, command, expected_version=expected_version
        )
        return await _shipment(info, shipment_id)
