"""What an RMA order owes and has paid, and its financial resolutions' actions."""

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import CommandFieldError, InvalidTransitionError
from rma_graphql.domain.rma_parts import (
    PROVIDERS,
    FinancialResolution,
    RecordedEvent,
    RefundTerms,
    RmaLine,
    StatusChange,
    moved,
)
from rma_graphql.domain.statuses import (
    DeliveryStatus,
    Dimension,
    EventType,
    ExpectedResolution,
    FinancialResolutionStatus,
    FinancialResolutionType,
    FinancialStatus,
    FulfillmentStatus,
    ProcessingStatus,
)


def resolution_comment(kind: FinancialResolutionType, resolution_id: str, detail: str | None = None) -> str:
    """The comment of a financial resolution's event: ``REFUND <id>``, then ``: <detail>``
    (the payment reference, or why it failed or was rejected)."""
    return f"{kind.value} {resolution_id}" + (f": {detail}" if detail else "")


def resolution_named(comment: str | None) -> tuple[str, str] | None:
    """The (type, id) of the financial resolution an event's comment names, if it names one."""
    words = (comment or "").split(":", 1)[0].split()
    if len(words) == 2 and words[0] in FinancialResolutionType.__members__:
        return words[0], words[1]
    return None


class MoneyRules:
    """The money of an RMA order: mixed into ``RmaOrder``, whose fields it reads."""

    if TYPE_CHECKING:
        # Declared by RmaOrder, which mixes this in.
        id: str
        expected_resolution: ExpectedResolution
        currency: str
        lines: list[RmaLine]
        processing_status: ProcessingStatus
        delivery_status: DeliveryStatus
        financial_status: FinancialStatus
        fulfillment_status: FulfillmentStatus
        retained_amount_for_shipping: int
        apply_return_fee: bool
        return_fee: int
        auto_generate_financial_resolution: bool
        auto_execute_financial_resolution: bool
        held_from: ProcessingStatus | None
        anomaly_from: ProcessingStatus | None
        fulfillment_requested_at: datetime | None
        auto_accept: bool
        financial_resolutions: list[FinancialResolution]
        scan_status: DeliveryStatus | None
        scan_at: datetime | None
        refund_terms: RefundTerms
        version: int

        def _fire(self, dimension: Dimension, action: str, **kwargs: Any) -> StatusChange | None: ...

        def available_actions(self) -> list[tuple[Action, bool, str | None]]: ...

        def twin(self) -> "MoneyRules": ...

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

    # -- financial resolutions ------------------------------------------------------------

    def _create_financial_resolution(
        self, now: datetime, *, type: FinancialResolutionType, amount: int | None = None, system: bool = False
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.CREATE_FINANCIAL_RESOLUTION)
        self._fire(Dimension.FINANCIAL, Action.CREATE_FINANCIAL_RESOLUTION)
        remaining = self.remaining_due()
        if remaining == 0:
            raise CommandFieldError(
                "Nothing remains due: the executed and open resolutions cover the amount due.", "amount"
            )
        if amount is None:
            amount = remaining
        if not 0 < amount <= remaining:
            raise CommandFieldError(
                f"The amount must be above 0 and at most the {remaining} minor units still due.", "amount"
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
                comment=resolution_comment(type, resolution.id),
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
        trial = self.twin()
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
                moved([change]),
                comment=resolution_comment(resolution.type, resolution.id, reference),
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
                moved([change]),
                comment=resolution_comment(resolution.type, resolution.id, reason),
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
        comment = resolution_comment(resolution.type, resolution.id, reason)
        return [RecordedEvent(EventType.FINANCIAL_RESOLUTION_REJECTED, moved([change]), comment=comment)]
