"""Receiving and inspecting an RMA order's units."""

from datetime import datetime
from typing import TYPE_CHECKING

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import CommandFieldError
from rma_graphql.domain.rma_money import MoneyRules
from rma_graphql.domain.rma_parts import (
    RecordedEvent,
)
from rma_graphql.domain.statuses import (
    Dimension,
    Disposition,
    EventType,
    InspectionResult,
    LineState,
    ProductState,
)


class WarehouseRules(MoneyRules):
    """Receiving and inspection: mixed into ``RmaOrder``, whose fields it reads."""

    if TYPE_CHECKING:
        # Declared by RmaOrder, which mixes this in (its fields: see MoneyRules).
        def _flag_anomaly(
            self, now: datetime, *, reason: str | None = None, system: bool = False
        ) -> list[RecordedEvent]: ...

    # -- receiving and inspection ---------------------------------------------------------

    def _receive_line(
        self, now: datetime, *, line_id: str, quantity: int, serial_numbers: list[str]
    ) -> list[RecordedEvent]:
        self._fire(Dimension.PROCESSING, Action.RECEIVE_LINE)
        line = self.line(line_id)
        known = set(line.received_serial_numbers)
        for i, serial in enumerate(serial_numbers):
            if serial in known:
                raise CommandFieldError(
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
            raise CommandFieldError(
                f"Only {waiting} received unit(s) of {line.sku} await inspection, not {quantity}.", "quantity"
            )
        if disposition is Disposition.RESTOCK and result is not InspectionResult.ACCEPTED:
            raise CommandFieldError("Only accepted units can be restocked.", "disposition")
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
