"""The RMA order aggregate: its four statuses, its lines and money, and every action on it.

Each action fires the dimension machines (see ``machines``) and returns the events it
records. An action runs on a copy and is applied only when it succeeds, so a refused
action leaves the aggregate exactly as it was.
"""

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rma_graphql.domain.errors import InvalidTransitionError
from rma_graphql.domain.machines import fire
from rma_graphql.domain.statuses import (
    CommentVisibility,
    DeliveryStatus,
    Dimension,
    EventType,
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
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


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
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


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
ACTIONS: tuple[str, ...] = (
    "update",
    "submit",
    "accept",
    "reject",
    "cancel",
    "hold",
    "resume",
    "flagAnomaly",
    "resolveAnomaly",
    "delete",
    "requestFulfillment",
    "startFulfillment",
    "completeProcessing",
    "updateDeliveryStatus",
)


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
            events += rma.perform("submit", now=now, auto_accept=False)
            events += rma.perform("accept", now=now)
        return rma, events

    # -- money ----------------------------------------------------------------------------

    def lines_total(self) -> int:
        return sum((line.price or 0) * line.quantity for line in self.lines)

    def amount_due(self) -> int:
        fee = self.return_fee if self.apply_return_fee else 0
        return max(0, self.lines_total() - self.retained_amount_for_shipping - fee)

    def executed_total(self) -> int:
        return sum(
            r.amount for r in self.financial_resolutions if r.status is FinancialResolutionStatus.EXECUTED
        )

    # -- dispatch -------------------------------------------------------------------------

    def perform(self, action: str, *, now: datetime, **params: Any) -> list[RecordedEvent]:
        """Run ``action``; on success apply it and return its events, else raise and change nothing."""
        handler = _HANDLERS.get(action)
        if handler is None:
            raise ValueError(f"unknown action {action!r}")
        trial = copy.deepcopy(self)
        try:
            events = handler(trial, now, **params)
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
            trial._fire(Dimension.PROCESSING, "updateDeliveryStatus")
            change = trial._fire(Dimension.DELIVERY, "updateDeliveryStatus", status=target)
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

    def available_actions(self) -> list[tuple[str, bool, str | None]]:
        """Every action with whether the machines allow it now, and why not when they do not."""
        result: list[tuple[str, bool, str | None]] = []
        for action in ACTIONS:
            reason = self._refusal(action)
            result.append((action, reason is None, reason))
        return result

    def _refusal(self, action: str) -> str | None:
        attempts: list[dict[str, Any]] = [{}]
        if action == "updateDeliveryStatus":
            attempts = [{"status": status} for status in DeliveryStatus]
        first_refusal: str | None = None
        for params in attempts:
            trial = copy.deepcopy(self)
            try:
                _HANDLERS[action](trial, datetime.min, **params)
            except InvalidTransitionError as error:
                if first_refusal is None or params.get("status") is None:
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
        changes = [self._fire(Dimension.PROCESSING, "update")]
        if expected_resolution is not None:
            self.expected_resolution = expected_resolution
            if self.financial_status != initial_financial_status(expected_resolution):
                changes.append(self._fire(Dimension.FINANCIAL, "update"))
        if lines is not None:
            self.lines = lines
        for name, value in fields.items():
            setattr(self, name, value)
        return [RecordedEvent(EventType.UPDATED, _moved(changes))]

    def _submit(self, now: datetime, *, auto_accept: bool | None = None) -> list[RecordedEvent]:
        if auto_accept is None:
            auto_accept = self.auto_accept
        events = [RecordedEvent(EventType.SUBMITTED, _moved([self._fire(Dimension.PROCESSING, "submit")]))]
        if auto_accept:
            change = self._fire(Dimension.PROCESSING, "accept")
            events.append(RecordedEvent(EventType.ACCEPTED, _moved([change]), system=True))
            events += self._catch_up(now)
        return events

    def _accept(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, "accept")
        return [RecordedEvent(EventType.ACCEPTED, _moved([change])), *self._catch_up(now)]

    def _reject(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, "reject")]
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, "reject"))
        return [RecordedEvent(EventType.REJECTED, _moved(changes), comment=reason)]

    def _cancel(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, "cancel")]
        if self.delivery_status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED_TO_SENDER):
            changes.append(self._fire(Dimension.DELIVERY, "cancel"))
        changes.append(self._fire(Dimension.FULFILLMENT, "cancel"))
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, "cancel"))
        self.held_from = None
        return [RecordedEvent(EventType.CANCELED, _moved(changes), comment=reason)]

    def _hold(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        previous = self.processing_status
        change = self._fire(Dimension.PROCESSING, "hold")
        self.held_from = previous
        return [RecordedEvent(EventType.HELD, _moved([change]), comment=reason)]

    def _resume(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, "resume")
        self.held_from = None
        return [RecordedEvent(EventType.RESUMED, _moved([change])), *self._catch_up(now)]

    def _flag_anomaly(
        self, now: datetime, *, reason: str | None = None, system: bool = False
    ) -> list[RecordedEvent]:
        previous = self.processing_status
        changes = [self._fire(Dimension.PROCESSING, "flagAnomaly")]
        self.anomaly_from = previous
        if previous is ProcessingStatus.PROCESSING:
            changes.append(self._fire(Dimension.FULFILLMENT, "flagAnomaly"))
        return [RecordedEvent(EventType.ANOMALY_FLAGGED, _moved(changes), comment=reason, system=system)]

    def _resolve_anomaly(self, now: datetime, *, comment: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, "resolveAnomaly")]
        self.anomaly_from = None
        if self.fulfillment_status is FulfillmentStatus.ERROR:
            changes.append(self._fire(Dimension.FULFILLMENT, "resolveAnomaly"))
        if self.delivery_status is DeliveryStatus.DELIVERED_TO_SENDER:
            # The customer ships the parcel again: the scans of the returned parcel no longer count.
            changes.append(self._fire(Dimension.DELIVERY, "resolveAnomaly"))
            self.scan_status = None
            self.scan_at = None
        return [
            RecordedEvent(EventType.ANOMALY_RESOLVED, _moved(changes), comment=comment),
            *self._catch_up(now),
        ]

    def _delete(self, now: datetime) -> list[RecordedEvent]:
        return [RecordedEvent(EventType.DELETED, _moved([self._fire(Dimension.PROCESSING, "delete")]))]

    def _request_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, "requestFulfillment")]
        self.fulfillment_requested_at = now
        return [RecordedEvent(EventType.FULFILLMENT_REQUESTED, _moved(changes))]

    def _start_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, "startFulfillment")]
        if self.delivery_status is not DeliveryStatus.DELIVERED:
            changes.append(self._fire(Dimension.DELIVERY, "startFulfillment"))
        changes.append(self._fire(Dimension.FULFILLMENT, "startFulfillment"))
        return [RecordedEvent(EventType.FULFILLMENT_STARTED, _moved(changes))]

    def _complete_processing(self, now: datetime) -> list[RecordedEvent]:
        changes = [
            self._fire(Dimension.PROCESSING, "completeProcessing"),
            self._fire(Dimension.FULFILLMENT, "completeProcessing"),
        ]
        # Nothing has been received line by line yet: every line counts as received in full.
        for line in self.lines:
            line.line_state = LineState.FULFILLED
        followups: list[RecordedEvent] = []
        if self.financial_status is FinancialStatus.PENDING:
            if self.amount_due() == 0:
                changes.append(self._fire(Dimension.FINANCIAL, "completeProcessing"))
            elif self.auto_generate_financial_resolution:
                followups = self._generate_financial_resolution(now)
        return [RecordedEvent(EventType.PROCESSING_COMPLETED, _moved(changes)), *followups]

    def _generate_financial_resolution(self, now: datetime) -> list[RecordedEvent]:
        resolution_type = (
            FinancialResolutionType.VOUCHER
            if self.expected_resolution is ExpectedResolution.VOUCHER
            else FinancialResolutionType.REFUND
        )
        resolution = FinancialResolution(
            type=resolution_type,
            amount=self.amount_due(),
            currency=self.currency,
            status=FinancialResolutionStatus.PENDING,
            created_at=now,
        )
        self.financial_resolutions.append(resolution)
        events = [RecordedEvent(EventType.FINANCIAL_RESOLUTION_CREATED, system=True)]
        if self.auto_execute_financial_resolution:
            resolution.status = FinancialResolutionStatus.EXECUTED
            resolution.executed_at = now
            change = self._fire(Dimension.FINANCIAL, "executeFinancialResolution")
            events.append(
                RecordedEvent(EventType.FINANCIAL_RESOLUTION_EXECUTED, _moved([change]), system=True)
            )
        return events

    def _update_delivery_status(self, now: datetime, *, status: DeliveryStatus) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, "updateDeliveryStatus")
        change = self._fire(Dimension.DELIVERY, "updateDeliveryStatus", status=status)
        events = [RecordedEvent(EventType.DELIVERY_STATUS_CHANGED, _moved([change]))]
        if (
            status is DeliveryStatus.DELIVERED_TO_SENDER
            and self.processing_status is ProcessingStatus.ACCEPTED
        ):
            events += self._flag_anomaly(now, reason=RETURNED_TO_SENDER, system=True)
        return events


def _moved(changes: list[StatusChange | None]) -> tuple[StatusChange, ...]:
    return tuple(change for change in changes if change is not None)


_HANDLERS: dict[str, Callable[..., list[RecordedEvent]]] = {
    "update": RmaOrder._update,
    "submit": RmaOrder._submit,
    "accept": RmaOrder._accept,
    "reject": RmaOrder._reject,
    "cancel": RmaOrder._cancel,
    "hold": RmaOrder._hold,
    "resume": RmaOrder._resume,
    "flagAnomaly": RmaOrder._flag_anomaly,
    "resolveAnomaly": RmaOrder._resolve_anomaly,
    "delete": RmaOrder._delete,
    "requestFulfillment": RmaOrder._request_fulfillment,
    "startFulfillment": RmaOrder._start_fulfillment,
    "completeProcessing": RmaOrder._complete_processing,
    "updateDeliveryStatus": RmaOrder._update_delivery_status,
}
