"""Return eligibility: the location's return policy applied to what an order sold.

One set of rules serves ``rmaOrderCreate``, ``rmaOrderUpdate``, ``rmaOrderSubmit`` and
``returnableItems``, so a storefront is offered exactly what a create would accept.
Every refusal carries a stable reason code and names the input it is about.

Beside them: an order's return status, derived from its returns.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rma_graphql.domain.statuses import (
    ExpectedResolution,
    ProcessingStatus,
    ProductState,
    ReturnReason,
)


class RefusalCode(StrEnum):
    RETURN_WINDOW_EXPIRED = "RETURN_WINDOW_EXPIRED"
    NOT_SHIPPED = "NOT_SHIPPED"
    QUANTITY_EXCEEDS_RETURNABLE = "QUANTITY_EXCEEDS_RETURNABLE"
    REASON_NOT_ALLOWED = "REASON_NOT_ALLOWED"
    RESOLUTION_NOT_ALLOWED = "RESOLUTION_NOT_ALLOWED"
    PICTURES_REQUIRED = "PICTURES_REQUIRED"
    PRODUCT_STATE_REQUIRED = "PRODUCT_STATE_REQUIRED"
    ORDER_ALREADY_RETURNED = "ORDER_ALREADY_RETURNED"


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str
    field: str


class ReturnRefusedError(Exception):
    """A return the policy does not allow; the service turns it into ``BAD_USER_INPUT``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


# Processing statuses whose RMA no longer holds any unit of an order.
INACTIVE_STATUSES = (ProcessingStatus.REJECTED, ProcessingStatus.CANCELED, ProcessingStatus.DELETED)


@dataclass(frozen=True)
class ReturnPolicy:
    """The rules of a location's configuration that decide what may be returned.

    Snapshotted on each RMA when it is created: later edits of the configuration never
    change a return already in flight.
    """

    authorization_delay: int | None = None
    max_authorization_delay: int | None = None
    accept_multi: bool = True
    reason_lines: tuple[ReturnReason, ...] | None = None
    expected_resolutions: tuple[ExpectedResolution, ...] | None = None
    request_product_state: bool = False
    needs_pictures: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReturnPolicy":
        reasons = data.get("reason_lines")
        resolutions = data.get("expected_resolutions")
        return cls(
            authorization_delay=data.get("authorization_delay"),
            max_authorization_delay=data.get("max_authorization_delay"),
            accept_multi=bool(data.get("accept_multi", True)),
            reason_lines=None if reasons is None else tuple(ReturnReason(r) for r in reasons),
            expected_resolutions=None
            if resolutions is None
            else tuple(ExpectedResolution(r) for r in resolutions),
            request_product_state=bool(data.get("request_product_state", False)),
            needs_pictures=bool(data.get("needs_pictures", False)),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("reason_lines", "expected_resolutions"):
            if data[name] is not None:
                data[name] = [value.value for value in data[name]]
        return data

    def deadline(self, delivered_at: datetime | None) -> datetime | None:
        """When the return window of an order delivered at ``delivered_at`` closes."""
        if self.authorization_delay is None or delivered_at is None:
            return None
        return delivered_at + timedelta(days=self.authorization_delay)

    def override_deadline(self, delivered_at: datetime | None) -> datetime | None:
        """How far a staff override stretches the window (no limit without a maximum)."""
        if self.max_authorization_delay is None or delivered_at is None:
            return None
        return delivered_at + timedelta(days=self.max_authorization_delay)


@dataclass(frozen=True)
class OrderLineFacts:
    id: str
    sku: str
    label: str
    quantity: int
    unit_price: int
    # Units of this line that other active RMA orders already return.
    returned: int = 0


@dataclass(frozen=True)
class OrderFacts:
    """What the rules need to know about one order, read in the deciding transaction."""

    id: str
    external_reference: str
    currency: str
    shipped_at: datetime | None
    delivered_at: datetime | None
    lines: Mapping[str, OrderLineFacts]
    # Other active RMA orders that return goods of this order.
    other_active_rmas: int = 0
    # The catalog customer who placed the order.
    customer_id: str | None = None


@dataclass(frozen=True)
class RequestedLine:
    """One line of a return as the rules see it; ``path`` is its input path."""

    path: str
    quantity: int
    reason: ReturnReason
    product_state: ProductState | None
    pictures: Sequence[str]
    order_line_id: str | None = None


@dataclass(frozen=True)
class ReturnRequest:
    expected_resolution: ExpectedResolution
    lines: Sequence[RequestedLine]
    # The staff's reason for returning after the authorization delay, when given.
    override_reason: str | None = None
    # Where the request names its expected resolution and its linked orders, for refusals.
    resolution_path: str = "expectedResolution"
    linked_orders_path: str = "linkedOrders"


def order_refusal(
    policy: ReturnPolicy, order: OrderFacts, now: datetime, *, override: bool, path: str
) -> Refusal | None:
    """Why nothing of ``order`` may be returned now, or None when it may."""
    if order.shipped_at is None:
        return Refusal(
            RefusalCode.NOT_SHIPPED,
            f"Order {order.external_reference} has not shipped: there is nothing to return yet.",
            path,
        )
    if not policy.accept_multi and order.other_active_rmas > 0:
        return Refusal(
            RefusalCode.ORDER_ALREADY_RETURNED,
            f"Order {order.external_reference} already has an active return, and this location "
            "accepts one return per order.",
            path,
        )
    deadline = policy.deadline(order.delivered_at)
    if deadline is not None and now > deadline:
        limit = f"{policy.authorization_delay} days"
        if not override:
            return Refusal(
                RefusalCode.RETURN_WINDOW_EXPIRED,
                f"The return window of order {order.external_reference} closed on "
                f"{deadline.date().isoformat()} ({limit} after delivery).",
                path,
            )
        stretched = policy.override_deadline(order.delivered_at)
        if stretched is not None and now > stretched:
            return Refusal(
                RefusalCode.RETURN_WINDOW_EXPIRED,
                f"Order {order.external_reference} was delivered more than "
                f"{policy.max_authorization_delay} days ago: past the maximum an override allows.",
                path,
            )
    return None


def returnable_quantity(line: OrderLineFacts) -> int:
    return max(0, line.quantity - line.returned)


@dataclass(frozen=True)
class LineAssessment:
    """What ``returnableItems`` reports for one order line."""

    line: OrderLineFacts
    returnable: int
    refusal: Refusal | None
    deadline: datetime | None


def assess_order(policy: ReturnPolicy, order: OrderFacts, now: datetime) -> list[LineAssessment]:
    """Per order line, how many units may still be returned and, when none, why."""
    refused = order_refusal(policy, order, now, override=False, path="orderId")
    deadline = policy.deadline(order.delivered_at)
    result = []
    for line in order.lines.values():
        refusal = refused
        returnable = 0 if refused else returnable_quantity(line)
        if refusal is None and returnable == 0:
            refusal = _quantity_refusal(line, 1, "orderId")
        result.append(LineAssessment(line, returnable, refusal, deadline))
    return result


def _quantity_refusal(line: OrderLineFacts, requested: int, path: str) -> Refusal:
    return Refusal(
        RefusalCode.QUANTITY_EXCEEDS_RETURNABLE,
        f"{requested} unit(s) of {line.sku} asked, {returnable_quantity(line)} returnable "
        f"({line.quantity} ordered, {line.returned} already in other returns).",
        path,
    )


def check_return(
    policy: ReturnPolicy, request: ReturnRequest, orders: Mapping[str, OrderFacts], now: datetime
) -> None:
    """Raise ``ReturnRefusedError`` with the first rule the request breaks.

    ``orders`` holds every order the request returns goods of, keyed by order id, each
    order line reachable through its order.
    """
    allowed_resolutions = policy.expected_resolutions
    if allowed_resolutions is not None and request.expected_resolution not in allowed_resolutions:
        raise ReturnRefusedError(
            Refusal(
                RefusalCode.RESOLUTION_NOT_ALLOWED,
                f"This location does not offer {request.expected_resolution.value} "
                f"(allowed: {_names(allowed_resolutions)}).",
                request.resolution_path,
            )
        )
    by_line = {line_id: order for order in orders.values() for line_id in order.lines}
    for order in orders.values():
        paths = [
            line.path
            for line in request.lines
            if line.order_line_id is not None and by_line[line.order_line_id] is order
        ]
        refusal = order_refusal(
            policy,
            order,
            now,
            override=request.override_reason is not None,
            path=f"{paths[0]}.orderLineId" if paths else request.linked_orders_path,
        )
        if refusal is not None:
            raise ReturnRefusedError(refusal)
    asked: dict[str, int] = {}
    for line in request.lines:
        if line.order_line_id is not None:
            facts = by_line[line.order_line_id].lines[line.order_line_id]
            asked[line.order_line_id] = asked.get(line.order_line_id, 0) + line.quantity
            if asked[line.order_line_id] > returnable_quantity(facts):
                raise ReturnRefusedError(
                    _quantity_refusal(facts, asked[line.order_line_id], f"{line.path}.quantity")
                )
        _check_line(policy, line)


def _check_line(policy: ReturnPolicy, line: RequestedLine) -> None:
    if policy.reason_lines is not None and line.reason not in policy.reason_lines:
        raise ReturnRefusedError(
            Refusal(
                RefusalCode.REASON_NOT_ALLOWED,
                f"This location does not take returns for {line.reason.value} "
                f"(allowed: {_names(policy.reason_lines)}).",
                f"{line.path}.reason",
            )
        )
    if policy.request_product_state and line.product_state is None:
        raise ReturnRefusedError(
            Refusal(
                RefusalCode.PRODUCT_STATE_REQUIRED,
                "This location needs the product's state on every line.",
                f"{line.path}.productState",
            )
        )
    if policy.needs_pictures and not line.pictures:
        raise ReturnRefusedError(
            Refusal(
                RefusalCode.PICTURES_REQUIRED,
                "This location needs at least one picture of every returned item.",
                f"{line.path}.pictures",
            )
        )


def _names(values: Iterable[StrEnum]) -> str:
    return ", ".join(value.value for value in values) or "none"


# -- an order's return status ----------------------------------------------------------------


class OrderReturnStatus(StrEnum):
    NO_RETURN = "NO_RETURN"
    RETURN_REQUESTED = "RETURN_REQUESTED"
    IN_PROGRESS = "IN_PROGRESS"
    RETURNED = "RETURNED"
    RETURN_FAILED = "RETURN_FAILED"


_IN_PROGRESS = (
    ProcessingStatus.ACCEPTED,
    ProcessingStatus.PROCESSING,
    ProcessingStatus.ON_HOLD,
    ProcessingStatus.ANOMALY,
)


def order_return_status(statuses: Iterable[ProcessingStatus]) -> OrderReturnStatus:
    """An order's return status from the processing statuses of the RMA orders returning it.

    The most advanced open return wins: IN_PROGRESS over RETURN_REQUESTED; with none open,
    RETURNED when a return completed, RETURN_FAILED when returns were only rejected.
    Cancelled and deleted returns count as none.
    """
    present = set(statuses)
    if present & set(_IN_PROGRESS):
        return OrderReturnStatus.IN_PROGRESS
    if present & {ProcessingStatus.NEW, ProcessingStatus.REQUESTED}:
        return OrderReturnStatus.RETURN_REQUESTED
    if ProcessingStatus.COMPLETE in present:
        return OrderReturnStatus.RETURNED
    if ProcessingStatus.REJECTED in present:
        return OrderReturnStatus.RETURN_FAILED
    return OrderReturnStatus.NO_RETURN
