"""The parts of an RMA order: its lines, its financial resolutions, the refund terms of
the orders it returns, and the events an action records."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rma_graphql.domain.errors import InvalidTransitionError
from rma_graphql.domain.statuses import (
    CommentVisibility,
    Dimension,
    EventType,
    ExpectedResolution,
    FinancialResolutionStatus,
    FinancialResolutionType,
    FinancialStatus,
    LineState,
    ProcessingStatus,
    ProductState,
    ReturnReason,
)

RETURNED_TO_SENDER = "returned to sender"

# A return shipment may be created while the parcel can still be on its way.
SHIPPABLE = (
    ProcessingStatus.NEW,
    ProcessingStatus.REQUESTED,
    ProcessingStatus.ACCEPTED,
    ProcessingStatus.ON_HOLD,
    ProcessingStatus.ANOMALY,
)


@dataclass
class RmaLine:
    sku: str
    quantity: int
    reason: ReturnReason
    price: int | None = None  # minor units of the order's currency; None counts as 0
    label: str | None = None
    reference: str | None = None
    product_state: ProductState | None = None
    serial_number: str | None = None
    comment: str | None = None
    line_state: LineState = LineState.PENDING
    # The order line the units come from, when the return names one.
    order_line_id: str | None = None
    # Picture URLs of the returned item, as the customer sent them.
    pictures: list[str] = field(default_factory=list)
    # What the warehouse received and inspected (units), and the serial numbers it scanned.
    received_quantity: int = 0
    received_serial_numbers: list[str] = field(default_factory=list)
    inspected_quantity: int = 0
    accepted_quantity: int = 0
    restocked_quantity: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def surplus_quantity(self) -> int:
        """Units received beyond what the line announced."""
        return max(0, self.received_quantity - self.quantity)


@dataclass(frozen=True)
class SoldOrder:
    """What a returned order paid: its shipping, and per order line the units and unit price."""

    shipping: int
    lines: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class RefundTerms:
    """The facts the amount due needs beyond the lines, fixed when the orders are linked."""

    orders: tuple[SoldOrder, ...] = ()
    refund_shipping_on_partial_return: bool = False
    refund_shipping_on_complete_return: bool = False

    def paid_price(self, order_line_id: str | None) -> int | None:
        for order in self.orders:
            if order_line_id in order.lines:
                return order.lines[order_line_id][1]
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "orders": [
                {"shipping": o.shipping, "lines": {k: list(v) for k, v in o.lines.items()}}
                for o in self.orders
            ],
            "refundShippingOnPartialReturn": self.refund_shipping_on_partial_return,
            "refundShippingOnCompleteReturn": self.refund_shipping_on_complete_return,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "RefundTerms":
        if not data:
            return cls()
        return cls(
            orders=tuple(
                SoldOrder(
                    shipping=int(o["shipping"]),
                    lines={k: (int(v[0]), int(v[1])) for k, v in o["lines"].items()},
                )
                for o in data["orders"]
            ),
            refund_shipping_on_partial_return=bool(data["refundShippingOnPartialReturn"]),
            refund_shipping_on_complete_return=bool(data["refundShippingOnCompleteReturn"]),
        )


@dataclass
class FinancialResolution:
    type: FinancialResolutionType
    amount: int
    currency: str
    status: FinancialResolutionStatus
    created_at: datetime
    executed_at: datetime | None = None
    reference: str | None = None
    failure_reason: str | None = None
    # The payment provider that executes it (``manual`` for refunds, ``voucher`` for vouchers).
    provider: str = "manual"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def is_open(self) -> bool:
        """Still to be paid: pending, or failed and retryable."""
        return self.status in (FinancialResolutionStatus.PENDING, FinancialResolutionStatus.FAILED)


@dataclass(frozen=True)
class StatusChange:
    dimension: Dimension
    from_status: str | None
    to_status: str


@dataclass(frozen=True)
class RecordedEvent:
    """What an action recorded; ``system`` marks an automatic follow-up."""

    type: EventType
    changes: tuple[StatusChange, ...] = ()
    comment: str | None = None
    system: bool = False
    # Set on COMMENT_ADDED only: who may see the comment and its event.
    visibility: CommentVisibility | None = None
    # What the event records beyond statuses (CORRECTED: each field before and after).
    data: Mapping[str, Any] | None = None


# The processing statuses in which an RMA order's details can no longer be corrected.
CLOSED_TO_CORRECTIONS = (
    ProcessingStatus.COMPLETE,
    ProcessingStatus.CANCELED,
    ProcessingStatus.REJECTED,
    ProcessingStatus.DELETED,
)


def corrected(status: ProcessingStatus, fields: list[dict[str, Any]]) -> list[RecordedEvent]:
    """Staff correct details (contacts, comment, meta, external reference) in any processing
    status but the closed ones; lines and money stay as they are. One CORRECTED event lists
    each field before and after."""
    if status in CLOSED_TO_CORRECTIONS:
        raise InvalidTransitionError(
            f"An RMA order cannot be corrected while the processing status is {status} "
            f"(not while {', '.join(CLOSED_TO_CORRECTIONS)}).",
            dimension=Dimension.PROCESSING.value,
            from_status=str(status),
            action="correct",
        )
    return [RecordedEvent(EventType.CORRECTED, data={"fields": fields})]


def initial_financial_status(resolution: ExpectedResolution) -> FinancialStatus:
    if resolution in (ExpectedResolution.REFUND, ExpectedResolution.VOUCHER):
        return FinancialStatus.PENDING
    return FinancialStatus.NONE


# Resolution types and the provider that pays each.
PROVIDERS = {FinancialResolutionType.REFUND: "manual", FinancialResolutionType.VOUCHER: "voucher"}


def moved(changes: list[StatusChange | None]) -> tuple[StatusChange, ...]:
    """The changes that moved a status (a machine that stayed put records none)."""
    return tuple(change for change in changes if change is not None)


def twin(part: Any) -> Any:
    """A shallow copy of a dataclass instance (cheaper than ``copy.copy``)."""
    copied = object.__new__(type(part))
    copied.__dict__.update(part.__dict__)
    return copied


def line_twin(line: RmaLine) -> RmaLine:
    """A copy of a line whose lists are its own."""
    copied: RmaLine = twin(line)
    copied.pictures = list(line.pictures)
    copied.received_serial_numbers = list(line.received_serial_numbers)
    return copied
