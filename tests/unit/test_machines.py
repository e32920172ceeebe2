"""The full (state × action) matrix of each machine, against expectations written out
from CONTRACT §5 by hand (not derived from the tables under test)."""

import copy
from datetime import UTC, datetime

import pytest

from rma_graphql.domain.errors import InvalidTransitionError
from rma_graphql.domain.machines import SPECS, fire
from rma_graphql.domain.rma_order import ACTIONS, RmaLine, RmaOrder
from rma_graphql.domain.statuses import (
    DeliveryStatus as D,
)
from rma_graphql.domain.statuses import (
    Dimension,
    ExpectedResolution,
    ReturnReason,
)
from rma_graphql.domain.statuses import (
    FinancialStatus as F,
)
from rma_graphql.domain.statuses import (
    FulfillmentStatus as U,
)
from rma_graphql.domain.statuses import (
    ProcessingStatus as P,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def new_rma(**fields: object) -> RmaOrder:
    rma, _ = RmaOrder.create(
        id="rma-1",
        expected_resolution=ExpectedResolution.REFUND,
        currency="EUR",
        lines=[RmaLine(sku="A", quantity=2, reason=ReturnReason.DEFECTIVE, price=1000)],
        now=NOW,
        **fields,
    )
    return rma


def reach(*steps: str) -> RmaOrder:
    rma = new_rma()
    for step in steps:
        params = {"status": D.HANDLED} if step == "updateDeliveryStatus" else {}
        rma.perform(step, now=NOW, **params)
    return rma


# scenario -> (path from NEW, {allowed action: processing status it leads to})
SCENARIOS: dict[str, tuple[tuple[str, ...], dict[str, P]]] = {
    "NEW": (
        (),
        {
            "update": P.NEW,
            "submit": P.REQUESTED,
            "cancel": P.CANCELED,
            "hold": P.ON_HOLD,
            "delete": P.DELETED,
        },
    ),
    "REQUESTED": (
        ("submit",),
        {"accept": P.ACCEPTED, "reject": P.REJECTED, "cancel": P.CANCELED, "hold": P.ON_HOLD},
    ),
    "ACCEPTED": (
        ("submit", "accept"),
        {
            "cancel": P.CANCELED,
            "hold": P.ON_HOLD,
            "flagAnomaly": P.ANOMALY,
            "requestFulfillment": P.ACCEPTED,
            "startFulfillment": P.PROCESSING,
            "updateDeliveryStatus": P.ACCEPTED,
        },
    ),
    "ACCEPTED, fulfillment requested": (
        ("submit", "accept", "requestFulfillment"),
        {
            "cancel": P.CANCELED,
            "hold": P.ON_HOLD,
            "flagAnomaly": P.ANOMALY,
            "startFulfillment": P.PROCESSING,
            "updateDeliveryStatus": P.ACCEPTED,
        },
    ),
    "PROCESSING": (
        ("submit", "accept", "startFulfillment"),
        {"hold": P.ON_HOLD, "flagAnomaly": P.ANOMALY, "completeProcessing": P.COMPLETE},
    ),
    "REJECTED": (("submit", "reject"), {"delete": P.DELETED}),
    "CANCELED": (("cancel",), {"delete": P.DELETED}),
    "COMPLETE": (("submit", "accept", "startFulfillment", "completeProcessing"), {}),
    "DELETED": (("delete",), {}),
    "ON_HOLD from NEW": (("hold",), {"resume": P.NEW, "cancel": P.CANCELED}),
    "ON_HOLD from REQUESTED": (("submit", "hold"), {"resume": P.REQUESTED, "cancel": P.CANCELED}),
    "ON_HOLD from ACCEPTED": (("submit", "accept", "hold"), {"resume": P.ACCEPTED, "cancel": P.CANCELED}),
    "ON_HOLD from PROCESSING": (("submit", "accept", "startFulfillment", "hold"), {"resume": P.PROCESSING}),
    "ANOMALY from ACCEPTED": (
        ("submit", "accept", "flagAnomaly"),
        {"hold": P.ON_HOLD, "resolveAnomaly": P.ACCEPTED, "updateDeliveryStatus": P.ANOMALY},
    ),
    "ANOMALY from PROCESSING": (
        ("submit", "accept", "startFulfillment", "flagAnomaly"),
        {"hold": P.ON_HOLD, "resolveAnomaly": P.PROCESSING},
    ),
    "ON_HOLD from ANOMALY": (("submit", "accept", "flagAnomaly", "hold"), {"resume": P.ANOMALY}),
}


# Statuses of the other dimensions after an allowed action, where the contract fixes them.
SIDE_EFFECTS: dict[tuple[str, str], dict[str, str]] = {
    ("REQUESTED", "reject"): {
        "financialStatus": "NONE",
        "deliveryStatus": "PENDING",
        "fulfillmentStatus": "PENDING",
    },
    ("NEW", "cancel"): {
        "deliveryStatus": "CANCELED",
        "fulfillmentStatus": "CANCELED",
        "financialStatus": "CANCELED",
    },
    ("ACCEPTED", "startFulfillment"): {"fulfillmentStatus": "IN_PROGRESS", "deliveryStatus": "DELIVERED"},
    ("PROCESSING", "completeProcessing"): {"fulfillmentStatus": "COMPLETE", "deliveryStatus": "DELIVERED"},
    ("PROCESSING", "flagAnomaly"): {"fulfillmentStatus": "ERROR"},
    ("ANOMALY from PROCESSING", "resolveAnomaly"): {"fulfillmentStatus": "IN_PROGRESS"},
    ("ACCEPTED", "updateDeliveryStatus"): {"deliveryStatus": "HANDLED"},
}
STATUS_ATTRIBUTES = {
    "deliveryStatus": "delivery_status",
    "financialStatus": "financial_status",
    "fulfillmentStatus": "fulfillment_status",
}


def test_scenarios_cover_every_processing_status() -> None:
    reached = {reach(*path).processing_status for path, _ in SCENARIOS.values()}

    assert reached == set(P)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("action", ACTIONS)
def test_processing_matrix(scenario: str, action: str) -> None:
    path, allowed = SCENARIOS[scenario]
    rma = reach(*path)
    before = copy.deepcopy(rma)
    params = {"status": D.HANDLED} if action == "updateDeliveryStatus" else {}

    if action in allowed:
        events = rma.perform(action, now=NOW, **params)

        assert rma.processing_status is allowed[action]
        assert events
        for field, value in SIDE_EFFECTS.get((scenario, action), {}).items():
            assert getattr(rma, STATUS_ATTRIBUTES[field]).value == value, field
    else:
        with pytest.raises(InvalidTransitionError) as refused:
            rma.perform(action, now=NOW, **params)

        assert refused.value.action == action
        assert refused.value.dimension == "PROCESSING"
        assert sorted(a for a in refused.value.allowed_actions if a in ACTIONS) == sorted(allowed)
        assert rma == before


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_available_actions_match_the_matrix(scenario: str) -> None:
    path, allowed = SCENARIOS[scenario]

    actions = [a for a in reach(*path).available_actions() if a[0] in ACTIONS]

    assert {name for name, ok, _ in actions if ok} == set(allowed)
    assert all(reason for _, ok, reason in actions if not ok)
    assert all(reason is None for _, ok, reason in actions if ok)


# --- delivery: every (status × target) pair of updateDeliveryStatus ------------------------

PATH = [D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING, D.DELIVERED]


def delivery_allowed(source: D, target: D) -> bool:
    if source in PATH and target in PATH:
        return PATH.index(target) > PATH.index(source)
    if target is D.ERROR:
        return source in (D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING)
    if source is D.ERROR:
        return target in (D.HANDLED, D.PROCESSING, D.DELIVERING, D.DELIVERED, D.DELIVERED_TO_SENDER)
    if target is D.DELIVERED_TO_SENDER:
        return source in (D.HANDLED, D.PROCESSING, D.DELIVERING)
    return False


class Holder:
    def __init__(self, **statuses: object) -> None:
        self.__dict__.update(statuses)


@pytest.mark.parametrize("source", list(D))
@pytest.mark.parametrize("target", list(D))
def test_delivery_matrix(source: D, target: D) -> None:
    model = Holder(delivery_status=source)

    if delivery_allowed(source, target):
        fire(Dimension.DELIVERY, model, "updateDeliveryStatus", status=target)

        assert model.delivery_status is target
    else:
        with pytest.raises(InvalidTransitionError) as refused:
            fire(Dimension.DELIVERY, model, "updateDeliveryStatus", status=target)

        assert refused.value.dimension == "DELIVERY"
        assert model.delivery_status is source


@pytest.mark.parametrize("source", list(D))
def test_delivery_side_effects(source: D) -> None:
    for action, expected in (
        ("cancel", {D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING, D.ERROR}),
        ("startFulfillment", {D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING, D.ERROR}),
        ("resolveAnomaly", {D.DELIVERED_TO_SENDER}),
    ):
        model = Holder(delivery_status=source)
        if source in expected:
            fire(Dimension.DELIVERY, model, action)
            assert (
                model.delivery_status
                is {"cancel": D.CANCELED, "startFulfillment": D.DELIVERED, "resolveAnomaly": D.PENDING}[
                    action
                ]
            )
        else:
            with pytest.raises(InvalidTransitionError):
                fire(Dimension.DELIVERY, model, action)
            assert model.delivery_status is source


FULFILLMENT = {
    ("startFulfillment", U.PENDING): U.IN_PROGRESS,
    ("completeProcessing", U.IN_PROGRESS): U.COMPLETE,
    ("flagAnomaly", U.IN_PROGRESS): U.ERROR,
    ("resolveAnomaly", U.ERROR): U.IN_PROGRESS,
    ("cancel", U.PENDING): U.CANCELED,
}


@pytest.mark.parametrize("source", list(U))
@pytest.mark.parametrize(
    "action", ["startFulfillment", "completeProcessing", "flagAnomaly", "resolveAnomaly", "cancel"]
)
def test_fulfillment_matrix(source: U, action: str) -> None:
    model = Holder(fulfillment_status=source)

    if (action, source) in FULFILLMENT:
        fire(Dimension.FULFILLMENT, model, action)

        assert model.fulfillment_status is FULFILLMENT[(action, source)]
    else:
        with pytest.raises(InvalidTransitionError):
            fire(Dimension.FULFILLMENT, model, action)

        assert model.fulfillment_status is source


class Money(Holder):
    def amount_due(self) -> int:
        return int(self.__dict__["due"])

    def executed_total(self) -> int:
        return int(self.__dict__["executed"])

    def open_total(self) -> int:
        return int(self.__dict__.get("open", 0))


def financial_target(action: str, source: F, due: int, executed: int, open_: int) -> F | None:
    """CONTRACT §5, financial: the status ``action`` leads to, or None when refused."""
    payable = (F.PENDING, F.EXECUTION_ERROR, F.PARTIALLY_REFUNDED)
    if action == "executeFinancialResolution":
        if source in payable:
            return F.REFUNDED if executed >= due else F.PARTIALLY_REFUNDED
        return None
    if action == "createFinancialResolution":
        return source if source in payable else None
    if action == "rejectFinancialResolution":
        if source is F.PARTIALLY_REFUNDED or (source is F.EXECUTION_ERROR and executed > 0):
            return F.PARTIALLY_REFUNDED
        if source in (F.PENDING, F.EXECUTION_ERROR) and executed == 0:
            return F.PENDING if open_ else F.REFUND_REJECTED
        return None
    simple = {
        ("failExecution", F.PENDING): F.EXECUTION_ERROR,
        ("failExecution", F.PARTIALLY_REFUNDED): F.EXECUTION_ERROR,
        ("failExecution", F.EXECUTION_ERROR): F.EXECUTION_ERROR,
        ("cancel", F.PENDING): F.CANCELED,
        ("reject", F.PENDING): F.NONE,
    }
    if action == "completeProcessing":
        return F.NONE if source is F.PENDING and due == 0 else None
    return simple.get((action, source))


MONEY_CASES = [(100, 100, 0), (100, 40, 0), (100, 0, 0), (0, 0, 0), (100, 0, 60), (100, 40, 60)]


@pytest.mark.parametrize("source", list(F))
@pytest.mark.parametrize(
    "action",
    [
        "executeFinancialResolution",
        "createFinancialResolution",
        "rejectFinancialResolution",
        "failExecution",
        "cancel",
        "reject",
        "completeProcessing",
    ],
)
@pytest.mark.parametrize(("due", "executed", "open_"), MONEY_CASES)
def test_financial_matrix(source: F, action: str, due: int, executed: int, open_: int) -> None:
    model = Money(financial_status=source, due=due, executed=executed, open=open_)
    target = financial_target(action, source, due, executed, open_)

    if target is not None:
        fire(Dimension.FINANCIAL, model, action)

        assert model.financial_status is target
    else:
        with pytest.raises(InvalidTransitionError):
            fire(Dimension.FINANCIAL, model, action)

        assert model.financial_status is source


def test_each_machine_declares_every_status_of_its_dimension() -> None:
    dimensions = {spec.dimension: {s.value for s in spec.states} for spec in SPECS}

    assert dimensions[Dimension.PROCESSING] == {s.value for s in P}
    assert dimensions[Dimension.DELIVERY] == {s.value for s in D}
    assert dimensions[Dimension.FINANCIAL] == {s.value for s in F}
    assert dimensions[Dimension.FULFILLMENT] == {s.value for s in U}


@pytest.mark.parametrize("delivery", [D.DELIVERED_TO_SENDER, D.CANCELED])
def test_start_fulfillment_is_refused_on_the_delivery_dimension(delivery: D) -> None:
    rma = reach("submit", "accept")
    rma.delivery_status = delivery
    before = copy.deepcopy(rma)

    with pytest.raises(InvalidTransitionError) as refused:
        rma.perform("startFulfillment", now=NOW)

    assert (refused.value.dimension, refused.value.from_status) == ("DELIVERY", delivery.value)
    assert rma == before


def test_amount_due_never_goes_below_zero_and_counts_the_fee() -> None:
    rma = new_rma(retained_amount_for_shipping=500, apply_return_fee=True, return_fee=300)

    assert rma.amount_due() == 2000 - 500 - 300
    rma.retained_amount_for_shipping = 5000
    assert rma.amount_due() == 0
