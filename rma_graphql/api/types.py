"""GraphQL output types, built straight from Core rows (never from table models)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import (
    LocationTypeEnum,
    RmaActorType,
    RmaDisposition,
    RmaInspectionResult,
    RmaOrderDeliveryStatus,
    RmaOrderExpectedResolution,
    RmaOrderLineState,
    RmaOrderProductState,
    RmaOrderReturnReason,
    RmaStatusDimension,
    ShippingEventEnum,
    member,
)
from rma_graphql.api.permissions import scoped
from rma_graphql.domain import access
from rma_graphql.domain import statuses as s
from rma_graphql.domain.eligibility import ReturnPolicy
from rma_graphql.domain.shipping import SCAN_DELIVERY_STATUS
from rma_graphql.service.currency import to_major
from rma_graphql.service.records import (
    LocationRecord,
    OrganizationRecord,
    RmaConfigurationRecord,
    RmaLineInspectionRecord,
    RmaOrderLineRecord,
    RmaShipmentEventRecord,
    RmaShipmentRecord,
)

if TYPE_CHECKING:
    from rma_graphql.api.catalog import Order
    from rma_graphql.api.rma_order_type import RmaOrderType


@strawberry.type
class Organization:
    id: strawberry.ID
    name: str
    allow_customer_sign_up: bool = strawberry.field(
        description="Whether customers may sign up to this organization themselves."
    )
    default_language: str = strawberry.field(
        description="What its messages are in when a reader names no language (BCP 47: en, fr, fr-CA)."
    )

    @classmethod
    def from_row(cls, row: OrganizationRecord) -> "Organization":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            allow_customer_sign_up=row.allow_customer_sign_up,
            default_language=row.default_language,
        )


@strawberry.enum(name="UserRole")
class UserRole(Enum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    INSPECTOR = "INSPECTOR"
    CUSTOMER = "CUSTOMER"


@strawberry.type(description="Who the request's token stands for.")
class Viewer:
    organization_id: strawberry.ID
    actor: "RmaActor"
    role: UserRole | None
    scopes: list[str]
    expires_at: datetime | None


# The address parts of a contact or a customer: attribute name -> JSON key as stored.
ADDRESS_KEYS = {
    "address": "address",
    "address_complement": "addressComplement",
    "city": "city",
    "zipcode": "zipcode",
    "country": "country",
}


def address_parts(data: Mapping[Any, Any]) -> dict[str, Any]:
    return {name: data.get(key) for name, key in ADDRESS_KEYS.items()}


@strawberry.type
class RmaContact:
    fullname: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    address: str | None = None
    address_complement: str | None = None
    city: str | None = None
    zipcode: str | None = None
    country: str | None = None
    language: str | None = strawberry.field(
        default=None, description="What the contact reads (BCP 47); null: the organization's language."
    )

    @classmethod
    def from_json(cls, data: Mapping[Any, Any] | None) -> "RmaContact | None":
        if data is None:
            return None
        return cls(
            fullname=data["fullname"],
            email=data.get("email"),
            phone=data.get("phone"),
            company=data.get("company"),
            language=data.get("language"),
            **address_parts(data),
        )


@strawberry.type
class Location:
    id: strawberry.ID
    name: str
    type: LocationTypeEnum
    contact: RmaContact | None

    @classmethod
    def from_row(cls, row: LocationRecord) -> "Location":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            type=s.LocationType(row.type),
            contact=RmaContact.from_json(row.contact),
        )


@strawberry.type
class RmaOrderLine:
    id: strawberry.ID
    label: str | None
    sku: str
    reference: str | None
    quantity: int
    reason: RmaOrderReturnReason
    product_state: RmaOrderProductState | None
    line_state: RmaOrderLineState
    price: float | None
    serial_number: str | None
    comment: str | None
    order_line_id: str | None = strawberry.field(description="The order line the units come from.")
    pictures: list[str] = strawberry.field(description="Picture URLs of the returned item.")
    received_quantity: int = strawberry.field(description="Units received, surplus included.")
    surplus_quantity: int = strawberry.field(description="Units received beyond the line's quantity.")
    received_serial_numbers: list[str]
    inspected_quantity: int
    accepted_quantity: int = strawberry.field(description="Inspected units accepted for the return.")
    restocked_quantity: int = strawberry.field(description="Accepted units put back in stock.")
    row: strawberry.Private[RmaOrderLineRecord]
    # The sequence of the shown RMA version's last event: later inspections are not shown.
    last_sequence: strawberry.Private[int]

    @strawberry.field(description="The inspections of the line's received units, oldest first.")
    async def inspections(self, info: RmaInfo) -> list["RmaLineInspection"]:
        rows = await context_of(info).loaders.inspections.load(self.row.rma_order_id)
        return [
            RmaLineInspection.from_row(r)
            for r in rows
            if r.line_id == self.row.id and r.sequence <= self.last_sequence
        ]

    @classmethod
    def from_row(cls, row: RmaOrderLineRecord, currency: str, last_sequence: int = 2**31) -> "RmaOrderLine":
        return cls(
            id=strawberry.ID(row.id),
            label=row.label,
            sku=row.sku,
            reference=row.reference,
            quantity=row.quantity,
            reason=member(s.ReturnReason, row.reason),
            product_state=member(s.ProductState, row.product_state) if row.product_state else None,
            line_state=member(s.LineState, row.line_state),
            price=None if row.price is None else to_major(row.price, currency),
            serial_number=row.serial_number,
            comment=row.comment,
            # Revisions kept before lines named order lines lack the two keys.
            order_line_id=row.order_line_id,
            pictures=list(row.pictures or []),
            received_quantity=row.received_quantity,
            surplus_quantity=max(0, row.received_quantity - row.quantity),
            received_serial_numbers=list(row.received_serial_numbers or []),
            inspected_quantity=row.inspected_quantity,
            accepted_quantity=row.accepted_quantity,
            restocked_quantity=row.restocked_quantity,
            row=row,
            last_sequence=last_sequence,
        )


@strawberry.type
class RmaLineInspection:
    """One inspection of received units: how many, the verdict, and what becomes of them."""

    id: strawberry.ID
    line_id: str
    quantity: int
    product_state: RmaOrderProductState | None
    result: RmaInspectionResult
    disposition: RmaDisposition
    notes: str | None
    inspector: "RmaActor"
    created_at: datetime

    @classmethod
    def from_row(cls, row: RmaLineInspectionRecord) -> "RmaLineInspection":
        return cls(
            id=strawberry.ID(row.id),
            line_id=row.line_id,
            quantity=row.quantity,
            product_state=member(s.ProductState, row.product_state) if row.product_state else None,
            result=s.InspectionResult(row.result),
            disposition=s.Disposition(row.disposition),
            notes=row.notes,
            inspector=RmaActor.from_json(row.inspector),
            created_at=row.created_at,
        )


@strawberry.type
class RmaOrderLinkedOrder:
    order_id: str
    external_reference: str | None
    organization_id: strawberry.Private[str]

    @strawberry.field(
        description="The order, when orderId is one of the organization's orders.",
        **scoped(access.VIEW_ORDERS),
    )
    async def order(
        self, info: RmaInfo
    ) -> Annotated["Order", strawberry.lazy("rma_graphql.api.catalog")] | None:
        from rma_graphql.api.catalog import Order  # catalog imports this module

        row = await context_of(info).loaders.orders.load(self.order_id)
        if row is None or row.organization_id != self.organization_id:
            return None
        return Order.from_row(row)


@strawberry.type
class RmaShipmentEvent:
    """One carrier scan, kept whether or not it moved the RMA order's delivery status."""

    event: ShippingEventEnum
    date: datetime
    message: str | None
    location: str | None
    delivery_status: RmaOrderDeliveryStatus = strawberry.field(
        description="The delivery status this scan calls for (the README's table)."
    )
    recorded_at: datetime

    @classmethod
    def from_row(cls, row: RmaShipmentEventRecord) -> "RmaShipmentEvent":
        event = ShippingEventEnum(row.event)
        return cls(
            event=event,
            date=row.date,
            message=row.message,
            location=row.location,
            delivery_status=SCAN_DELIVERY_STATUS[event],
            recorded_at=row.created_at,
        )


@strawberry.type
class RmaShipmentEventConnection:
    nodes: list[RmaShipmentEvent]
    total_count: int


@strawberry.type
class RmaShipment:
    """A return shipment: the parcel's carrier, tracking and scans (oldest scan first)."""

    id: strawberry.ID
    rma_order_id: str
    reference: str
    tracking: str | None
    tracking_url: str | None
    label_url: str | None
    carrier_name: str | None
    created_at: datetime
    events: RmaShipmentEventConnection
    last_event: RmaShipmentEvent | None = strawberry.field(description="The scan with the latest date.")

    @strawberry.field(description="The event of the latest scan, null before the first.")
    def state(self) -> ShippingEventEnum | None:
        return self.last_event.event if self.last_event else None

    @strawberry.field(
        description="The RMA order the parcel returns; in a mutation's answer, as of the change it made."
    )
    async def rma_order(
        self, info: RmaInfo
    ) -> Annotated["RmaOrderType", strawberry.lazy("rma_graphql.api.rma_order_type")]:
        from rma_graphql.api.rma_order_type import rma_payload

        return await rma_payload(info, self.rma_order_id)

    @classmethod
    def from_rows(cls, row: RmaShipmentRecord, event_rows: Sequence[RmaShipmentEventRecord]) -> "RmaShipment":
        """``event_rows`` in (date, sequence) order: the last one is the latest scan."""
        events = [RmaShipmentEvent.from_row(event) for event in event_rows]
        return cls(
            id=strawberry.ID(row.id),
            rma_order_id=row.rma_order_id,
            reference=row.reference,
            tracking=row.tracking,
            tracking_url=row.tracking_url,
            label_url=row.label_url,
            carrier_name=row.carrier_name,
            created_at=row.created_at,
            events=RmaShipmentEventConnection(nodes=events, total_count=len(events)),
            last_event=events[-1] if events else None,
        )


@strawberry.type
class RmaReturnPolicy:
    """The return policy in force when an RMA order was created."""

    authorization_delay: int | None
    max_authorization_delay: int | None
    accept_multi: bool
    reason_lines: list[RmaOrderReturnReason] | None
    expected_resolutions: list[RmaOrderExpectedResolution] | None
    request_product_state: bool
    needs_pictures: bool

    @classmethod
    def from_policy(cls, policy: ReturnPolicy) -> "RmaReturnPolicy":
        return cls(
            authorization_delay=policy.authorization_delay,
            max_authorization_delay=policy.max_authorization_delay,
            accept_multi=policy.accept_multi,
            reason_lines=list(policy.reason_lines) if policy.reason_lines is not None else None,
            expected_resolutions=list(policy.expected_resolutions)
            if policy.expected_resolutions is not None
            else None,
            request_product_state=policy.request_product_state,
            needs_pictures=policy.needs_pictures,
        )


@strawberry.type
class RmaOrderAction:
    action: str
    allowed: bool
    reason: str | None


@strawberry.type
class RmaActor:
    type: RmaActorType
    id: str | None
    name: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RmaActor":
        return cls(type=s.ActorType(data["type"]), id=data.get("id"), name=data.get("name"))


def _actor(data: Mapping[str, Any]) -> "RmaActor":
    return RmaActor.from_json(data)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class RmaConfiguration:
    id: strawberry.ID
    location_id: str
    portal_is_active: bool
    auto_accept: bool
    accept_multi: bool
    needs_pictures: bool
    request_product_state: bool
    authorization_delay: int | None
    max_authorization_delay: int | None
    reason_lines: list[RmaOrderReturnReason] | None
    expected_resolutions: list[RmaOrderExpectedResolution] | None
    email_contact: str | None
    shop_url: str | None
    domain: str | None
    custom_css: str | None
    tp_app_ids: list[str] | None
    auto_generate_financial_resolution: bool
    auto_execute_financial_resolution: bool
    retained_amount_for_shipping: float
    refund_shipping_on_partial_return: bool
    refund_shipping_on_complete_return: bool
    currency: str
    return_fee: float
    voucher_validity_days: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RmaConfigurationRecord) -> "RmaConfiguration":
        currency = row.currency
        return cls(
            id=strawberry.ID(row.id),
            location_id=row.location_id,
            portal_is_active=row.portal_is_active,
            auto_accept=row.auto_accept,
            accept_multi=row.accept_multi,
            needs_pictures=row.needs_pictures,
            request_product_state=row.request_product_state,
            authorization_delay=row.authorization_delay,
            max_authorization_delay=row.max_authorization_delay,
            reason_lines=[s.ReturnReason(v) for v in row.reason_lines]
            if row.reason_lines is not None
            else None,
            expected_resolutions=[s.ExpectedResolution(v) for v in row.expected_resolutions]
            if row.expected_resolutions is not None
            else None,
            email_contact=row.email_contact,
            shop_url=row.shop_url,
            domain=row.domain,
            custom_css=row.custom_css,
            tp_app_ids=row.tp_app_ids,
            auto_generate_financial_resolution=row.auto_generate_financial_resolution,
            auto_execute_financial_resolution=row.auto_execute_financial_resolution,
            retained_amount_for_shipping=to_major(row.retained_amount_for_shipping, currency),
            refund_shipping_on_partial_return=row.refund_shipping_on_partial_return,
            refund_shipping_on_complete_return=row.refund_shipping_on_complete_return,
            currency=currency,
            return_fee=to_major(row.return_fee, currency),
            voucher_validity_days=row.voucher_validity_days,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class RmaStateTransition:
    action: str
    from_: str = strawberry.field(name="from")
    to: str
    guard: str | None


@strawberry.type
class RmaStateMachine:
    dimension: RmaStatusDimension
    states: list[str]
    initial: str
    finals: list[str]
    transitions: list[RmaStateTransition]
    mermaid: str
