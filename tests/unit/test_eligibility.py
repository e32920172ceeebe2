"""The return rules and carrier scans as pure domain code: windows, quantities, an order's
return status, and scans arriving in any order."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from rma_graphql.domain.eligibility import (
    OrderFacts,
    OrderLineFacts,
    RefusalCode,
    RequestedLine,
    ReturnPolicy,
    ReturnRefusedError,
    ReturnRequest,
    assess_order,
    check_return,
    order_return_status,
)
from rma_graphql.domain.rma_order import RmaLine, RmaOrder
from rma_graphql.domain.shipping import SCAN_DELIVERY_STATUS, ShippingEvent
from rma_graphql.domain.statuses import DeliveryStatus as D
from rma_graphql.domain.statuses import ExpectedResolution, ProcessingStatus, ReturnReason

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def order(delivered_days_ago: int | None = 3, returned: int = 0, others: int = 0) -> OrderFacts:
    delivered = NOW - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
    return OrderFacts(
        id="o1",
        external_reference="SO-1",
        currency="EUR",
        shipped_at=NOW - timedelta(days=40),
        delivered_at=delivered,
        lines={
            "l1": OrderLineFacts(id="l1", sku="A", label="A", quantity=2, unit_price=1000, returned=returned)
        },
        other_active_rmas=others,
    )


def request(quantity: int = 1, override: str | None = None) -> ReturnRequest:
    return ReturnRequest(
        expected_resolution=ExpectedResolution.REFUND,
        lines=[
            RequestedLine(
                path="input.lines[0]",
                quantity=quantity,
                reason=ReturnReason.DEFECTIVE,
                product_state=None,
                pictures=[],
                order_line_id="l1",
            )
        ],
        override_reason=override,
    )


def refusal(policy: ReturnPolicy, facts: OrderFacts, req: ReturnRequest) -> RefusalCode | None:
    try:
        check_return(policy, req, {facts.id: facts}, NOW)
    except ReturnRefusedError as refused:
        return refused.refusal.code
    return None


@pytest.mark.parametrize(
    ("days", "override", "expected"),
    [
        (13, None, None),
        (14, None, None),  # the window closes at the end of day 14 after delivery
        (15, None, RefusalCode.RETURN_WINDOW_EXPIRED),
        (15, "goodwill", None),
        (30, "goodwill", None),
        (31, "goodwill", RefusalCode.RETURN_WINDOW_EXPIRED),
        (None, None, None),  # shipped, not delivered yet: the window has not started
    ],
)
def test_the_window_counts_days_from_delivery(
    days: int | None, override: str | None, expected: object
) -> None:
    policy = ReturnPolicy(authorization_delay=14, max_authorization_delay=30)

    assert refusal(policy, order(days), request(override=override)) == expected


def test_without_a_maximum_an_override_has_no_limit() -> None:
    policy = ReturnPolicy(authorization_delay=14)

    assert refusal(policy, order(400), request(override="goodwill")) is None
    assert refusal(policy, order(400), request()) is RefusalCode.RETURN_WINDOW_EXPIRED


def test_quantities_and_one_return_per_order() -> None:
    assert refusal(ReturnPolicy(), order(returned=1), request(quantity=1)) is None
    assert (
        refusal(ReturnPolicy(), order(returned=1), request(quantity=2))
        is RefusalCode.QUANTITY_EXCEEDS_RETURNABLE
    )
    assert (
        refusal(ReturnPolicy(accept_multi=False), order(others=1), request())
        is RefusalCode.ORDER_ALREADY_RETURNED
    )
    assert refusal(ReturnPolicy(accept_multi=True), order(others=1), request()) is None


def test_assessment_reports_what_create_would_refuse() -> None:
    [expired] = assess_order(ReturnPolicy(authorization_delay=7), order(10), NOW)
    [partly] = assess_order(ReturnPolicy(), order(returned=1), NOW)
    [none_left] = assess_order(ReturnPolicy(), order(returned=2), NOW)

    assert (expired.returnable, expired.refusal and expired.refusal.code) == (
        0,
        RefusalCode.RETURN_WINDOW_EXPIRED,
    )
    assert expired.deadline == NOW - timedelta(days=3)
    assert (partly.returnable, partly.refusal) == (1, None)
    assert none_left.refusal is not None
    assert none_left.refusal.code is RefusalCode.QUANTITY_EXCEEDS_RETURNABLE


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "NO_RETURN"),
        ([ProcessingStatus.CANCELED, ProcessingStatus.DELETED], "NO_RETURN"),
        ([ProcessingStatus.NEW], "RETURN_REQUESTED"),
        ([ProcessingStatus.REQUESTED, ProcessingStatus.COMPLETE], "RETURN_REQUESTED"),
        ([ProcessingStatus.ON_HOLD, ProcessingStatus.NEW], "IN_PROGRESS"),
        ([ProcessingStatus.COMPLETE, ProcessingStatus.REJECTED], "RETURNED"),
        ([ProcessingStatus.REJECTED, ProcessingStatus.CANCELED], "RETURN_FAILED"),
    ],
)
def test_order_return_status(statuses: list[ProcessingStatus], expected: str) -> None:
    assert order_return_status(statuses).value == expected


def accepted_rma() -> RmaOrder:
    rma, _ = RmaOrder.create(
        id="r1",
        expected_resolution=ExpectedResolution.REFUND,
        currency="EUR",
        lines=[RmaLine(sku="A", quantity=1, reason=ReturnReason.DEFECTIVE)],
        accept=True,
        now=NOW,
    )
    return rma


TRIP = [
    (ShippingEvent.INFO_RECEIVED, 8),
    (ShippingEvent.IN_TRANSIT, 9),
    (ShippingEvent.OUT_FOR_DELIVERY, 11),
    (ShippingEvent.DELIVERED, 12),
]


# Every arrival order of a whole trip, and of a trip still under way (its latest scan is
# OUT_FOR_DELIVERY): the status ends where the latest scan by date puts the parcel.
ARRIVALS = [(order, D.DELIVERED) for order in itertools.permutations(range(4))] + [
    (order, D.DELIVERING) for order in itertools.permutations(range(3))
]


@pytest.mark.parametrize(("arrival", "expected"), ARRIVALS)
def test_scans_in_any_arrival_order_end_where_the_latest_scan_puts_the_parcel(
    arrival: tuple[int, ...], expected: D
) -> None:
    rma = accepted_rma()

    for index in arrival:
        event, hour = TRIP[index]
        rma.record_scan(
            NOW, status=SCAN_DELIVERY_STATUS[event], scanned_at=NOW.replace(hour=hour), description=""
        )

    assert rma.delivery_status is expected
    assert rma.scan_at == NOW.replace(hour=max(TRIP[index][1] for index in arrival))


def test_every_shipping_event_maps_to_a_delivery_status() -> None:
    assert set(SCAN_DELIVERY_STATUS) == set(ShippingEvent)
