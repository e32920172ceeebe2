"""The RMA order aggregate: its four statuses, its lines and money, and every action on it.

Each action fires the dimension machines (see ``machines``) and returns the events it
records. An action runs on a copy and is applied only when it succeeds, so a refused
action leaves the aggregate exactly as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, ConflictError, InvalidTransitionError
from rma_graphql.domain.machines import fire, refusal
from rma_graphql.domain.rma_parts import (
    PROVIDERS,
    RETURNED_TO_SENDER,
    SHIPPABLE,
    FinancialResolution,
    RecordedEvent,
    RefundTerms,
    RmaLine,
    SoldOrder,
    StatusChange,
    corrected,
    initial_financial_status,
    line_twin,
    moved,
    twin,
)
from rma_graphql.domain.rma_warehouse import WarehouseRules
from rma_graphql.domain.statuses import (
    CommentVisibility,
    DeliveryStatus,
    Dimension,
    Disposition,
    EventType,
    ExpectedResolution,
    FinancialResolutionType,
    FinancialStatus,
    FulfillmentStatus,
    InspectionResult,
    LineState,
    ProcessingStatus,
)

# The parts are part of what this module offers.
__all__ = [
    "ACTIONS",
    "CHILD_ACTIONS",
    "PROVIDERS",
    "RETURNED_TO_SENDER",
    "SHIPPABLE",
    "FinancialResolution",
    "RecordedEvent",
    "RefundTerms",
    "RmaLine",
    "RmaOrder",
    "SoldOrder",
    "StatusChange",
    "initial_financial_status",
]

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


@dataclass
class RmaOrder(WarehouseRules):
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

    # -- dispatch -------------------------------------------------------------------------

    def twin(self) -> "RmaOrder":
        """An independent copy to try an action on: statuses and scalars by value, a copy of
        each line and resolution (and of their lists); the refund terms are immutable."""
        copied: RmaOrder = twin(self)
        copied.lines = [line_twin(line) for line in self.lines]
        copied.financial_resolutions = [twin(resolution) for resolution in self.financial_resolutions]
        return copied

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
        trial = self.twin()
        try:
            events: list[RecordedEvent] = handler(trial, now, **params)
        except InvalidTransitionError as error:
            error.allowed_actions = [name for name, allowed, _ in self.available_actions() if allowed]
            raise
        self.__dict__.update(trial.__dict__)
        return events

    def correct(self, fields: list[dict[str, Any]]) -> list[RecordedEvent]:
        """Staff correct details after submit (see ``rma_parts.corrected``)."""
        return corrected(self.processing_status, fields)

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
        return [RecordedEvent(EventType.SHIPMENT_SCANNED, moved([change]), comment=description), *followups]

    def _follow_scans(self, now: datetime) -> tuple[StatusChange | None, list[RecordedEvent]]:
        """Move the delivery status to where the latest scan puts it, when that is allowed."""
        target = self.scan_status
        if target is None or target == self.delivery_status:
            return None, []
        trial = self.twin()
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
        """Why ``action`` would be refused now, or None. Every handler asks the processing
        machine first, so its table decides most actions, read without changing anything;
        an action it allows is tried on a twin with each set of parameters ``_attempts``
        gives (the other dimensions and the money and warehouse rules have their say), and
        one success is enough."""
        refused = refusal(Dimension.PROCESSING, self, action)
        if refused is not None:
            return refused.message
        attempts = _attempts(self, action)
        if not attempts:
            return _NOTHING_TO_ACT_ON[action]
        first_refusal: str | None = None
        for params in attempts:
            trial = self.twin()
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
        return [RecordedEvent(EventType.UPDATED, moved(changes))]

    def _submit(self, now: datetime, *, auto_accept: bool | None = None) -> list[RecordedEvent]:
        if auto_accept is None:
            auto_accept = self.auto_accept
        events = [
            RecordedEvent(EventType.SUBMITTED, moved([self._fire(Dimension.PROCESSING, Action.SUBMIT)]))
        ]
        if auto_accept:
            change = self._fire(Dimension.PROCESSING, Action.ACCEPT)
            events.append(RecordedEvent(EventType.ACCEPTED, moved([change]), system=True))
            events += self._catch_up(now)
        return events

    def _accept(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, Action.ACCEPT)
        return [RecordedEvent(EventType.ACCEPTED, moved([change])), *self._catch_up(now)]

    def _reject(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.REJECT)]
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, Action.REJECT))
        return [RecordedEvent(EventType.REJECTED, moved(changes), comment=reason)]

    def _cancel(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.CANCEL)]
        if self.delivery_status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED_TO_SENDER):
            changes.append(self._fire(Dimension.DELIVERY, Action.CANCEL))
        changes.append(self._fire(Dimension.FULFILLMENT, Action.CANCEL))
        if self.financial_status is FinancialStatus.PENDING:
            changes.append(self._fire(Dimension.FINANCIAL, Action.CANCEL))
        self.held_from = None
        return [RecordedEvent(EventType.CANCELED, moved(changes), comment=reason)]

    def _hold(self, now: datetime, *, reason: str | None = None) -> list[RecordedEvent]:
        previous = self.processing_status
        change = self._fire(Dimension.PROCESSING, Action.HOLD)
        self.held_from = previous
        return [RecordedEvent(EventType.HELD, moved([change]), comment=reason)]

    def _resume(self, now: datetime) -> list[RecordedEvent]:
        change = self._fire(Dimension.PROCESSING, Action.RESUME)
        self.held_from = None
        return [RecordedEvent(EventType.RESUMED, moved([change])), *self._catch_up(now)]

    def _flag_anomaly(
        self, now: datetime, *, reason: str | None = None, system: bool = False
    ) -> list[RecordedEvent]:
        previous = self.processing_status
        changes = [self._fire(Dimension.PROCESSING, Action.FLAG_ANOMALY)]
        self.anomaly_from = previous
        if previous is ProcessingStatus.PROCESSING:
            changes.append(self._fire(Dimension.FULFILLMENT, Action.FLAG_ANOMALY))
        return [RecordedEvent(EventType.ANOMALY_FLAGGED, moved(changes), comment=reason, system=system)]

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
            RecordedEvent(EventType.ANOMALY_RESOLVED, moved(changes), comment=comment),
            *self._catch_up(now),
        ]

    def _delete(self, now: datetime) -> list[RecordedEvent]:
        return [RecordedEvent(EventType.DELETED, moved([self._fire(Dimension.PROCESSING, Action.DELETE)]))]

    def _request_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.REQUEST_FULFILLMENT)]
        self.fulfillment_requested_at = now
        return [RecordedEvent(EventType.FULFILLMENT_REQUESTED, moved(changes))]

    def _start_fulfillment(self, now: datetime) -> list[RecordedEvent]:
        changes = [self._fire(Dimension.PROCESSING, Action.START_FULFILLMENT)]
        if self.delivery_status is not DeliveryStatus.DELIVERED:
            changes.append(self._fire(Dimension.DELIVERY, Action.START_FULFILLMENT))
        changes.append(self._fire(Dimension.FULFILLMENT, Action.START_FULFILLMENT))
        return [RecordedEvent(EventType.FULFILLMENT_STARTED, moved(changes))]

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
        return [RecordedEvent(EventType.PROCESSING_COMPLETED, moved(changes)), *followups]

    # -- replacement orders ---------------------------------------------------------------

    def _create_replacement_order(self, now: datetime, *, description: str) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.CREATE_REPLACEMENT_ORDER)
        return [RecordedEvent(EventType.REPLACEMENT_ORDER_CREATED, comment=description)]

    def _update_delivery_status(self, now: datetime, *, status: DeliveryStatus) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.UPDATE_DELIVERY_STATUS)
        change = self._fire(Dimension.DELIVERY, Action.UPDATE_DELIVERY_STATUS, status=status)
        events = [RecordedEvent(EventType.DELIVERY_STATUS_CHANGED, moved([change]))]
        if (
            status is DeliveryStatus.DELIVERED_TO_SENDER
            and self.processing_status is ProcessingStatus.ACCEPTED
        ):
            events += self._flag_anomaly(now, reason=RETURNED_TO_SENDER, system=True)
        return events


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
