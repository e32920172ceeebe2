"""The RMA order aggregate: its four statuses, its lines and money, and every action on it.

Each action fires the dimension machines (see ``machines``) and returns the events it
records. An action runs on a copy and is applied only when it succeeds, so a refused
action leaves the aggregate exactly as it was.
"""

import copy
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, ConflictError, InvalidTransitionError
from rma_graphql.domain.machines import fire
from rma_graphql.domain.statuses import (
    CommentVisibility,
    DeliveryStatus,
    Dimension,
    Disposition,
    EventType,
    ExpectedResolution,
    FinancialResolutionStatus,
    FinancialResolutionType,
    FinancialStatus,
    FulfillmentStatus,
    InspectionResult,
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


def initial_financial_status(resolution: ExpectedResolution) -> FinancialStatus:
    if resolution in (ExpectedResolution.REFUND, ExpectedResolution.VOUCHER):
        return FinancialStatus.PENDING
    return FinancialStatus.NONE


_ATTRIBUTES = {
    Dimension.PROCESSING: "processing_status",
    Dimension.DELIVERY: "delivery_status",
    Dimension.FINANCIAL: "financial_status",
    Dimension.FULFILLMENT: "fulfillment_status",
}

# Actions in the order ``availableActions`` lists them, with the arguments used to try them.
ACTIONS: tuple[Action, ...] = (
    Action.UPDATE,
    Action.SUBMIT,
    Action.ACCEPT,
    Action.REJECT,
    Action.CANCEL,
    Action.HOLD,
    Action.RESUME,
    Action.FLAG_ANOMALY,
    Action.RESOLVE_ANOMALY,
    Action.DELETE,
    Action.REQUEST_FULFILLMENT,
    Action.START_FULFILLMENT,
    Action.COMPLETE_PROCESSING,
    Action.UPDATE_DELIVERY_STATUS,
)
# Actions on what the RMA order contains (a line, a resolution) or creates (an order), listed
# after the others; availableActions tries them on each object there is (see ``_attempts``).
CHILD_ACTIONS: tuple[Action, ...] = (
    Action.RECEIVE_LINE,
    Action.INSPECT_LINE,
    Action.CREATE_FINANCIAL_RESOLUTION,
    Action.EXECUTE_FINANCIAL_RESOLUTION,
    Action.REJECT_FINANCIAL_RESOLUTION,
    Action.CREATE_REPLACEMENT_ORDER,
)

# Resolution types and the provider that pays each.
PROVIDERS = {FinancialResolutionType.REFUND: "manual", FinancialResolutionType.VOUCHER: "voucher"}


@dataclass
class RmaOrder:
    id: str
    expected_resolution: ExpectedResolution
    currency: str
    lines: list[RmaLine]
    processing_status: ProcessingStatus = ProcessingStatus.NEW
    delivery_status: DeliveryStatus = DeliveryStatus.PENDING
    financial_status: FinancialStatus = FinancialStatus.PENDING
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.PENDING
    retained_amount_for_shipping: int = 0
    apply_return_fee: bool = False
    return_fee: int = 0
    auto_generate_financial_resolution: bool = False
    auto_execute_financial_resolution: bool = False
    held_from: ProcessingStatus | None = None
    anomaly_from: ProcessingStatus | None = None
    fulfillment_requested_at: datetime | None = None
    # The location's configuration at the time of the action: submit accepts at once when set.
    auto_accept: bool = False
    financial_resolutions: list[FinancialResolution] = field(default_factory=list)
    # The delivery status the latest carrier scan (by its date) calls for, and that date.
    scan_status: DeliveryStatus | None = None
    scan_at: datetime | None = None
    refund_terms: RefundTerms = field(default_factory=RefundTerms)
    version: int = 1

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def create(
        cls, *, accept: bool = False, now: datetime, **fields: Any
    ) -> tuple["RmaOrder", list[RecordedEvent]]:
        rma = cls(**fields)
        rma.processing_status = ProcessingStatus.NEW
        rma.delivery_status = DeliveryStatus.PENDING
        rma.fulfillment_status = FulfillmentStatus.PENDING
        rma.financial_status = initial_financial_status(rma.expected_resolution)
        rma.version = 1
        created = RecordedEvent(
            EventType.CREATED,
            tuple(
                StatusChange(dimension, None, getattr(rma, attribute))
                for dimension, attribute in _ATTRIBUTES.items()
            ),
        )
        events = [created]
        if accept:
            events += rma.perform(Action.SUBMIT, now=now, auto_accept=False)
            events += rma.perform(Action.ACCEPT, now=now)
        return rma, events

    # -- money ----------------------------------------------------------------------------

    def anything_received(self) -> bool:
        return any(line.received_quantity for line in self.lines)

    def all_received_inspected(self) -> bool:
        return all(line.inspected_quantity >= line.received_quantity for line in self.lines)

    def accepted_units(self, line: RmaLine) -> int:
        """Units that count for the money: as inspected and accepted once anything was received;
        until then every announced unit (the core behaviour). Never more than announced."""
        if not self.anything_received():
            return line.quantity
        return min(line.accepted_quantity, line.quantity)

    def _refundable_price(self, line: RmaLine) -> int:
        """The line's unit price, never above what the order paid for the unit."""
        price = line.price or 0
        paid = self.refund_terms.paid_price(line.order_line_id)
        return price if paid is None else min(price, paid)

    def accepted_total(self) -> int:
        return sum(self.accepted_units(line) * self._refundable_price(line) for line in self.lines)

    def shipping_refund(self) -> int:
        """The original shipping of each returned order, when its return is complete or partial
        and the configuration refunds shipping for that case."""
        returned: Counter[str] = Counter()
        for line in self.lines:
            if line.order_line_id is not None:
                returned[line.order_line_id] += self.accepted_units(line)
        terms = self.refund_terms
        total = 0
        for order in terms.orders:
            units = {line_id: returned[line_id] for line_id in order.lines}
            if not any(units.values()):
                continue
            complete = all(units[line_id] >= ordered for line_id, (ordered, _) in order.lines.items())
            refunded = (
                terms.refund_shipping_on_complete_return
                if complete
                else terms.refund_shipping_on_partial_return
            )
            if refunded:
                total += order.shipping
        return total

    def amount_due(self) -> int:
        fee = self.return_fee if self.apply_return_fee else 0
        return max(
            0, self.accepted_total() - self.retained_amount_for_shipping - fee + self.shipping_refund()
        )

    def executed_total(self) -> int:
        return sum(
            r.amount for r in self.financial_resolutions if r.status is FinancialResolutionStatus.EXECUTED
        )

    def open_total(self) -> int:
        return sum(r.amount for r in self.financial_resolutions if r.is_open)

    def remaining_due(self) -> int:
        """What no resolution covers yet: the amount due less the executed and open ones."""
        return max(0, self.amount_due() - self.executed_total() - self.open_total())

    def restocked_units(self) -> int:
        return sum(line.restocked_quantity for line in self.lines)

    def resolution(self, resolution_id: str) -> FinancialResolution:
        return next(r for r in self.financial_resolutions if r.id == resolution_id)

    def line(self, line_id: str) -> RmaLine:
        return next(line for line in self.lines if line.id == line_id)

    def _check_money(self, action: str) -> None:
        """The amount due never drops below what was executed, and a refunded RMA stays exact."""
        due, executed = self.amount_due(), self.executed_total()
        if executed > due:
            raise self._financial_refusal(
                action,
                f"This would lower the amount due to {due} minor units, below the {executed} already paid.",
            )
        if self.financial_status is FinancialStatus.REFUNDED and due != executed:
            raise self._financial_refusal(
                action,
                f"The RMA order is refunded in full ({executed} minor units); this would change the "
                f"amount due to {due}.",
            )

    def _financial_refusal(self, action: str, message: str) -> InvalidTransitionError:
        return InvalidTransitionError(
            message,
            dimension=Dimension.FINANCIAL.value,
            from_status=str(self.financial_status),
            action=action,
        )

    # -- dispatch -------------------------------------------------------------------------

    def check_version(self, expected_version: int | None) -> None:
        """CONFLICT unless the RMA order is at ``expected_version`` (when one is given)."""
        if expected_version is not None and expected_version != self.version:
            raise ConflictError(
                f"The RMA order is at version {self.version}, not {expected_version}.",
                expected_version,
                self.version,
            )

    def perform(self, action: Action | str, *, now: datetime, **params: Any) -> list[RecordedEvent]:
        """Run ``action``; on success apply it and return its events, else raise and change nothing."""
        handler = _HANDLERS.get(Action(action))
        if handler is None:
            raise ValueError(f"unknown action {action!r}")
        trial = copy.deepcopy(self)
        try:
            events: list[RecordedEvent] = handler(trial, now, **params)
        except InvalidTransitionError as error:
            error.allowed_actions = [name for name, allowed, _ in self.available_actions() if allowed]
            raise
        self.__dict__.update(trial.__dict__)
        return events

    def add_comment(self, text: str, visibility: CommentVisibility) -> list[RecordedEvent]:
        """A comment moves no status, in any status: it is recorded and versioned like any change."""
        return [RecordedEvent(EventType.COMMENT_ADDED, comment=text, visibility=visibility)]

    # -- return shipments -----------------------------------------------------------------

    def create_shipment(self, description: str) -> list[RecordedEvent]:
        """A return shipment for the parcel; refused once the parcel can no longer travel."""
        if self.processing_status not in SHIPPABLE:
            error = InvalidTransitionError(
                "A return shipment cannot be created while the processing status is "
                f"{self.processing_status} (only while {', '.join(SHIPPABLE)}).",
                dimension=Dimension.PROCESSING.value,
                from_status=str(self.processing_status),
                action="createShipment",
            )
            error.allowed_actions = [name for name, allowed, _ in self.available_actions() if allowed]
            raise error
        return [RecordedEvent(EventType.SHIPMENT_CREATED, comment=description)]

    def record_scan(
        self, now: datetime, *, status: DeliveryStatus, scanned_at: datetime, description: str
    ) -> list[RecordedEvent]:
        """Record a carrier scan: it is always kept; the delivery status follows the latest
        scan (by its date) whenever the delivery machine allows, and an older scan, or one
        that would move the status backwards, changes nothing."""
        if self.scan_at is None or scanned_at >= self.scan_at:
            self.scan_status = status
            self.scan_at = scanned_at
            change, followups = self._follow_scans(now)
        else:
            change, followups = None, []
        return [RecordedEvent(EventType.SHIPMENT_SCANNED, _moved([change]), comment=description), *followups]

    def _follow_scans(self, now: datetime) -> tuple[StatusChange | None, list[RecordedEvent]]:
        """Move the delivery status to where the latest scan puts it, when that is allowed."""
        target = self.scan_status
        if target is None or target == self.delivery_status:
            return None, []
        trial = copy.deepcopy(self)
        try:
            trial._fire(Dimension.PROCESSING, Action.UPDATE_DELIVERY_STATUS)
            change = trial._fire(Dimension.DELIVERY, Action.UPDATE_DELIVERY_STATUS, status=target)
        except InvalidTransitionError:
            return None, []
        followups: list[RecordedEvent] = []
        if (
            target is DeliveryStatus.DELIVERED_TO_SENDER
            and trial.processing_status is ProcessingStatus.ACCEPTED
        ):
            followups = trial._flag_anomaly(now, reason=RETURNED_TO_SENDER, system=True)
        self.__dict__.update(trial.__dict__)
        return change, followups

    def _catch_up(self, now: datetime) -> list[RecordedEvent]:
        """Once delivery changes are allowed again, follow the scans that arrived meanwhile."""
        change, followups = self._follow_scans(now)
        if change is None:
            return []
        return [RecordedEvent(EventType.DELIVERY_STATUS_CHANGED, (change,), system=True), *followups]

    def available_actions(self) -> list[tuple[Action, bool, str | None]]:
        """Every action with whether the machines allow it now, and why not when they do not."""
        result: list[tuple[Action, bool, str | None]] = []
        for action in ACTIONS + CHILD_ACTIONS:
            reason = self._refusal(action)
            result.append((action, reason is None, reason))
        return result

    def _refusal(self, action: Action) -> str | None:
        """Why ``action`` would be refused now, or None: the real handler is tried on a copy
        with each set of parameters ``_attempts`` gives, and one success is enough."""
        # Every handler asks the processing machine first: its refusal comes first, and a
        # shallow copy is enough to ask (firing it only sets the processing status).
        try:
            copy.copy(self)._fire(Dimension.PROCESSING, action)
        except InvalidTransitionError as error:
            return error.message
        attempts = _attempts(self, action)
        if not attempts:
            return _NOTHING_TO_ACT_ON[action]
        first_refusal: str | None = None
        for params in attempts:
            trial = copy.deepcopy(self)
            try:
                _HANDLERS[action](trial, datetime.min, **params)
            except (InvalidTransitionError, BadUserInputError) as error:
                by_state = isinstance(error, InvalidTransitionError) and error.dimension == "PROCESSING"
                if first_refusal is None or by_state:
                    first_refusal = error.message
                continue
            return None
        if action == "updateDeliveryStatus" and self.processing_status in (
            ProcessingStatus.ACCEPTED,
            ProcessingStatus.ANOMALY,
        ):
            return f"No delivery status can follow {self.delivery_status}."
        return first_refusal

    # -- the actions ----------------------------------------------------------------------

    def _fire(self, dimension: Dimension, action: str, **kwargs: Any) -> StatusChange | None:
        attribute = _ATTRIBUTES[dimension]
        before = getattr(self, attribute)
        fire(dimension, self, action, **kwargs)
        after = getattr(self, attribute)
        return None if after == before else StatusChange(dimension, before, after)

    def _update(
        self,
        now: datetime,
        *,
        expected_resolution: ExpectedResolution | None = None,
        lines: list[RmaLine] | None = None,
        **fields: Any,
    ) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.UPDATE)]
        if expected_resolution is not None:
            self.expected_resolution = expected_resolution
            if self.financial_status != initial_financial_status(expected_resolution):
                changes.append(self._fire(Dimension.FINANCIAL, Action.UPDATE))
        if lines is not None:
            self.lines = lines
        for name, value in fields.items():
            setattr(self, name, value)
        return [RecordedEvent(EventType.UPDATED, _moved(changes))]

    def _submit(self, now: datetime, *, auto_accept: bool | None = None) -> list[RecordedEvent]:
        if auto_accept is None:
            auto_accept = self.auto_accept
        events = [
            RecordedEvent(EventType.SUBMITTED, _moved([self._fire(Dimension.PROCESSING, Action.SUBMIT)]))
        ]
        if auto_accept:
            change = self._fire(Dimension.PROCESSING, Action.ACCEPT)
            events.append(RecordedEvent(EventType.ACCEPTED, _moved([change]), system=True))
            events += self._catch_up(now)
        return events

    def _accept(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, Action.ACCEPT)
        return [RecordedEvent(EventType.ACCEPTED, _moved([change])), *self._catch_up(now)]

    def _reject(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.REJECT)]
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, Action.REJECT))
        return [RecordedEvent(EventType.REJECTED, _moved(changes), comment=reason)]

    def _cancel(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.CANCEL)]
        if self.delivery_status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED_TO_SENDER):
            changes.append(self._fire(Dimension.DELIVERY, Action.CANCEL))
        changes.append(self._fire(Dimension.FULFILLMENT, Action.CANCEL))
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, Action.CANCEL))
        self.held_from = None
        return [RecordedEvent(EventType.CANCELED, _moved(changes), comment=reason)]

    def _hold(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        previous = self.processing_status
        change = self._fire(Dimension.PROCESSING, Action.HOLD)
        self.held_from = previous
        return [RecordedEvent(EventType.HELD, _moved([change]), comment=reason)]

    def _resume(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, Action.RESUME)
        self.held_from = None
        return [RecordedEvent(EventType.RESUMED, _moved([change])), *self._catch_up(now)]

    def _flag_anomaly(
        self, now: datetime, *, reason: str | None = None, system: bool = False
    ) -> list[RecordedEvent]:
        previous = self.processing_status
        changes = [self._fire(Dimension.PROCESSING, Action.FLAG_ANOMALY)]
        self.anomaly_from = previous
        if previous is ProcessingStatus.PROCESSING:
            changes.append(self._fire(Dimension.FULFILLMENT, Action.FLAG_ANOMALY))
        return [RecordedEvent(EventType.ANOMALY_FLAGGED, _moved(changes), comment=reason, system=system)]

    def _resolve_anomaly(self, now: datetime, *, comment: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.RESOLVE_ANOMALY)]
        self.anomaly_from = None
        if self.fulfillment_status is FulfillmentStatus.ERROR:
            changes.append(self._fire(Dimension.FULFILLMENT, Action.RESOLVE_ANOMALY))
        if self.delivery_status is DeliveryStatus.DELIVERED_TO_SENDER:
            # The customer ships the parcel again: the return to the sender no longer counts,
            # but a new parcel's scans recorded since do, and are caught up to below. The
            # latest scan's date stays, so the returned parcel's late scans still count as old.
            changes.append(self._fire(Dimension.DELIVERY, Action.RESOLVE_ANOMALY))
            if self.scan_status is DeliveryStatus.DELIVERED_TO_SENDER:
                self.scan_status = None
        return [
            RecordedEvent(EventType.ANOMALY_RESOLVED, _moved(changes), comment=comment),
            *self._catch_up(now),
        ]

    def _delete(self, now: datetime) -> list[RecordedEvent]:
        return [RecordedEvent(EventType.DELETED, _moved([self._fire(Dimension.PROCESSING, Action.DELETE)]))]

    def _request_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.REQUEST_FULFILLMENT)]
        self.fulfillment_requested_at = now
        return [RecordedEvent(EventType.FULFILLMENT_REQUESTED, _moved(changes))]

    def _start_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.START_FULFILLMENT)]
        if self.delivery_status is not DeliveryStatus.DELIVERED:
            changes.append(self._fire(Dimension.DELIVERY, Action.START_FULFILLMENT))
        changes.append(self._fire(Dimension.FULFILLMENT, Action.START_FULFILLMENT))
        return [RecordedEvent(EventType.FULFILLMENT_STARTED, _moved(changes))]

    def _complete_processing(self, now: datetime) -> list[RecordedEvent]:
        changes = [
            self._fire(Dimension.PROCESSING, Action.COMPLETE_PROCESSING),
            self._fire(Dimension.FULFILLMENT, Action.COMPLETE_PROCESSING),
        ]
        if not self.anything_received():
            # Nothing was received line by line: every line counts as received in full.
            for line in self.lines:
                line.line_state = LineState.FULFILLED
        followups: list[RecordedEvent] = []
        if self.financial_status is FinancialStatus.PENDING:
            if self.amount_due() == 0:
                changes.append(self._fire(Dimension.FINANCIAL, Action.COMPLETE_PROCESSING))
            elif self.auto_generate_financial_resolution and self.remaining_due() > 0:
                resolution_type = (
                    FinancialResolutionType.VOUCHER
                    if self.expected_resolution is ExpectedResolution.VOUCHER
                    else FinancialResolutionType.REFUND
                )
                followups = self._create_financial_resolution(
                    now, type=resolution_type, amount=self.remaining_due(), system=True
                )
        return [RecordedEvent(EventType.PROCESSING_COMPLETED, _moved(changes)), *followups]

    # -- receiving and inspection ---------------------------------------------------------

    def _receive_line(
        self, now: datetime, *, line_id: str, quantity: int, serial_numbers: list[str]
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.RECEIVE_LINE)
        line = self.line(line_id)
        known = set(line.received_serial_numbers)
        for i, serial in enumerate(serial_numbers):
            if serial in known:
                raise BadUserInputError(
                    f"Serial number {serial!r} was already received on this line.", f"serialNumbers[{i}]"
                )
            known.add(serial)
        surplus_before = line.surplus_quantity
        line.received_quantity += quantity
        line.received_serial_numbers = [*line.received_serial_numbers, *serial_numbers]
        words = f"{quantity} × {line.sku} received ({line.received_quantity} of {line.quantity})"
        if serial_numbers:
            words += f", serial numbers {', '.join(serial_numbers)}"
        events = [RecordedEvent(EventType.LINE_RECEIVED, comment=words)]
        surplus = line.surplus_quantity - surplus_before
        if surplus:
            reason = (
                f"received {line.received_quantity} units of {line.sku}, {line.surplus_quantity} more "
                f"than the {line.quantity} announced"
            )
            events += self._flag_anomaly(now, reason=reason, system=True)
        self._check_money("receiveLine")
        return events

    def _inspect_line(
        self,
        now: datetime,
        *,
        line_id: str,
        quantity: int,
        result: InspectionResult,
        disposition: Disposition,
        product_state: ProductState | None = None,
        notes: str | None = None,
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.INSPECT_LINE)
        line = self.line(line_id)
        waiting = line.received_quantity - line.inspected_quantity
        if quantity > waiting:
            raise BadUserInputError(
                f"Only {waiting} received unit(s) of {line.sku} await inspection, not {quantity}.",
                "input.quantity",
            )
        if disposition is Disposition.RESTOCK and result is not InspectionResult.ACCEPTED:
            raise BadUserInputError("Only accepted units can be restocked.", "input.disposition")
        line.inspected_quantity += quantity
        if result is InspectionResult.ACCEPTED:
            line.accepted_quantity += quantity
        if disposition is Disposition.RESTOCK:
            line.restocked_quantity += quantity
        line.line_state = (
            LineState.FULFILLED if line.inspected_quantity >= line.quantity else LineState.PARTIALLY_FULFILLED
        )
        self._check_money("inspectLine")
        words = f"{quantity} × {line.sku} {result.value.lower()}, {disposition.value}"
        if product_state is not None:
            words += f", {product_state.value}"
        return [RecordedEvent(EventType.LINE_INSPECTED, comment=f"{words}: {notes}" if notes else words)]

    # -- financial resolutions ------------------------------------------------------------

    def _create_financial_resolution(
        self, now: datetime, *, type: FinancialResolutionType, amount: int | None = None, system: bool = False
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.CREATE_FINANCIAL_RESOLUTION)
        self._fire(Dimension.FINANCIAL, Action.CREATE_FINANCIAL_RESOLUTION)
        remaining = self.remaining_due()
        if remaining == 0:
            raise BadUserInputError(
                "Nothing remains due: the executed and open resolutions cover the amount due.", "input.amount"
            )
        if amount is None:
            amount = remaining
        if not 0 < amount <= remaining:
            raise BadUserInputError(
                f"The amount must be above 0 and at most the {remaining} minor units still due.",
                "input.amount",
            )
        resolution = FinancialResolution(
            type=type,
            amount=amount,
            currency=self.currency,
            status=FinancialResolutionStatus.PENDING,
            created_at=now,
            provider=PROVIDERS[type],
        )
        self.financial_resolutions.append(resolution)
        return [
            RecordedEvent(
                EventType.FINANCIAL_RESOLUTION_CREATED,
                comment=f"{type.value} {resolution.id}",
                system=system,
            )
        ]

    def check_execution(self, resolution_id: str) -> None:
        """Refuse, changing nothing, unless the resolution may be paid now."""
        try:
            self._check_execution(resolution_id)
        except InvalidTransitionError as error:
            error.allowed_actions = [name for name, allowed, _ in self.available_actions() if allowed]
            raise

    def _open_resolution(self, resolution_id: str, action: str, done: str) -> FinancialResolution:
        """The resolution ``action`` acts on, refused unless it is open (PENDING or FAILED)."""
        resolution = self.resolution(resolution_id)
        if not resolution.is_open:
            raise self._financial_refusal(
                action,
                f"The financial resolution is {resolution.status}; only a PENDING or FAILED one is {done}.",
            )
        return resolution

    def _check_execution(self, resolution_id: str) -> None:
        trial = copy.deepcopy(self)
        trial._fire(Dimension.PROCESSING, Action.EXECUTE_FINANCIAL_RESOLUTION)
        resolution = trial._open_resolution(resolution_id, "executeFinancialResolution", "executed")
        still_due = trial.amount_due() - trial.executed_total()
        if resolution.amount > still_due:
            raise trial._financial_refusal(
                "executeFinancialResolution",
                f"The resolution's {resolution.amount} minor units exceed the {still_due} still due.",
            )
        resolution.status = FinancialResolutionStatus.EXECUTED
        trial._fire(Dimension.FINANCIAL, Action.EXECUTE_FINANCIAL_RESOLUTION)

    def _execute_financial_resolution(
        self, now: datetime, *, resolution_id: str, reference: str | None, system: bool = False
    ) -> list[RecordedEvent]:
        self._check_execution(resolution_id)
        self._fire(Dimension.PROCESSING, Action.EXECUTE_FINANCIAL_RESOLUTION)
        resolution = self.resolution(resolution_id)
        resolution.status = FinancialResolutionStatus.EXECUTED
        resolution.executed_at = now
        resolution.reference = reference
        resolution.failure_reason = None
        change = self._fire(Dimension.FINANCIAL, Action.EXECUTE_FINANCIAL_RESOLUTION)
        return [
            RecordedEvent(
                EventType.FINANCIAL_RESOLUTION_EXECUTED,
                _moved([change]),
                comment=f"{resolution.type.value} {resolution.id}" + (f": {reference}" if reference else ""),
                system=system,
            )
        ]

    def _fail_financial_resolution(
        self, now: datetime, *, resolution_id: str, reason: str, system: bool = False
    ) -> list[RecordedEvent]:
        self._check_execution(resolution_id)
        resolution = self.resolution(resolution_id)
        resolution.status = FinancialResolutionStatus.FAILED
        resolution.failure_reason = reason
        change = self._fire(Dimension.FINANCIAL, "failExecution")
        return [
            RecordedEvent(
                EventType.FINANCIAL_RESOLUTION_FAILED,
                _moved([change]),
                comment=f"{resolution.type.value} {resolution.id}: {reason}",
                system=system,
            )
        ]

    def _reject_financial_resolution(
        self, now: datetime, *, resolution_id: str, reason: str | None = None
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.REJECT_FINANCIAL_RESOLUTION)
        resolution = self._open_resolution(resolution_id, "rejectFinancialResolution", "rejected")
        resolution.status = FinancialResolutionStatus.REJECTED
        resolution.failure_reason = reason
        change = self._fire(Dimension.FINANCIAL, Action.REJECT_FINANCIAL_RESOLUTION)
        words = f"{resolution.type.value} {resolution.id}" + (f": {reason}" if reason else "")
        return [RecordedEvent(EventType.FINANCIAL_RESOLUTION_REJECTED, _moved([change]), comment=words)]

    # -- replacement orders ---------------------------------------------------------------

    def _create_replacement_order(self, now: datetime, *, description: str) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.CREATE_REPLACEMENT_ORDER)
        return [RecordedEvent(EventType.REPLACEMENT_ORDER_CREATED, comment=description)]

    def _update_delivery_status(self, now: datetime, *, status: DeliveryStatus) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.UPDATE_DELIVERY_STATUS)
        change = self._fire(Dimension.DELIVERY, Action.UPDATE_DELIVERY_STATUS, status=status)
        events = [RecordedEvent(EventType.DELIVERY_STATUS_CHANGED, _moved([change]))]
        if (
            status is DeliveryStatus.DELIVERED_TO_SENDER
            and self.processing_status is ProcessingStatus.ACCEPTED
        ):
            events += self._flag_anomaly(now, reason=RETURNED_TO_SENDER, system=True)
        return events


def _moved(changes: list[StatusChange | None]) -> tuple[StatusChange, ...]:
    return tuple(change for change in changes if change is not None)


_HANDLERS: dict[Action, Callable[..., list[RecordedEvent]]] = {
    Action.UPDATE: RmaOrder._update,
    Action.SUBMIT: RmaOrder._submit,
    Action.ACCEPT: RmaOrder._accept,
    Action.REJECT: RmaOrder._reject,
    Action.CANCEL: RmaOrder._cancel,
    Action.HOLD: RmaOrder._hold,
    Action.RESUME: RmaOrder._resume,
    Action.FLAG_ANOMALY: RmaOrder._flag_anomaly,
    Action.RESOLVE_ANOMALY: RmaOrder._resolve_anomaly,
    Action.DELETE: RmaOrder._delete,
    Action.REQUEST_FULFILLMENT: RmaOrder._request_fulfillment,
    Action.START_FULFILLMENT: RmaOrder._start_fulfillment,
    Action.COMPLETE_PROCESSING: RmaOrder._complete_processing,
    Action.UPDATE_DELIVERY_STATUS: RmaOrder._update_delivery_status,
    Action.RECEIVE_LINE: RmaOrder._receive_line,
    Action.INSPECT_LINE: RmaOrder._inspect_line,
    Action.CREATE_FINANCIAL_RESOLUTION: RmaOrder._create_financial_resolution,
    Action.EXECUTE_FINANCIAL_RESOLUTION: RmaOrder._execute_financial_resolution,
    Action.FAIL_FINANCIAL_RESOLUTION: RmaOrder._fail_financial_resolution,
    Action.REJECT_FINANCIAL_RESOLUTION: RmaOrder._reject_financial_resolution,
    Action.CREATE_REPLACEMENT_ORDER: RmaOrder._create_replacement_order,
}


def _attempts(rma: RmaOrder, action: str) -> list[dict[str, Any]]:
    """The parameters availableActions tries ``action`` with: one success means allowed."""
    open_ids = [r.id for r in rma.financial_resolutions if r.is_open]
    if action == "updateDeliveryStatus":
        return [{"status": status} for status in DeliveryStatus]
    if action == "receiveLine":
        return [{"line_id": line.id, "quantity": 1, "serial_numbers": []} for line in rma.lines]
    if action == "inspectLine":
        return [
            {"line_id": line.id, "quantity": 1, "result": result, "disposition": Disposition.REFURBISH}
            for line in rma.lines
            if line.received_quantity > line.inspected_quantity
            for result in InspectionResult
        ]
    if action == "createFinancialResolution":
        return [{"type": FinancialResolutionType.REFUND}]
    if action in ("executeFinancialResolution", "rejectFinancialResolution"):
        extra = {"reference": None} if action == "executeFinancialResolution" else {}
        return [{"resolution_id": resolution_id, **extra} for resolution_id in open_ids]
    if action == "createReplacementOrder":
        return [{"description": ""}]
    return [{}]


# What availableActions says when the state allows an action but there is nothing to act on.
_NOTHING_TO_ACT_ON = {
    "receiveLine": "The RMA order has no line to receive.",
    "inspectLine": "No received unit awaits inspection.",
    "executeFinancialResolution": "No financial resolution is pending or failed.",
    "rejectFinancialResolution": "No financial resolution is pending or failed.",
}
