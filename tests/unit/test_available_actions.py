"""availableActions read off the machine tables: the table check agrees with the machines
built from the tables, and the answers equal those of trying every action on a deep copy."""

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transitions import MachineError

from rma_graphql.domain import rma_order as aggregate
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, DomainError, InvalidTransitionError
from rma_graphql.domain.machines import MACHINES, SPECS, refusal
from rma_graphql.domain.rma_order import ACTIONS, CHILD_ACTIONS, RmaLine, RmaOrder
from rma_graphql.domain.statuses import (
    DeliveryStatus,
    Dimension,
    Disposition,
    ExpectedResolution,
    FinancialResolutionType,
    InspectionResult,
    ProcessingStatus,
    ReturnReason,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Model:
    """What the guards read of an RMA order, set freely."""

    processing_status: Any = None
    delivery_status: Any = None
    financial_status: Any = None
    fulfillment_status: Any = None
    held_from: ProcessingStatus | None = None
    anomaly_from: ProcessingStatus | None = None
    fulfillment_requested_at: datetime | None = None
    expected_resolution: ExpectedResolution = ExpectedResolution.REFUND
    due: int = 0
    executed: int = 0
    open: int = 0
    inspected: bool = True

    def amount_due(self) -> int:
        return self.due

    def executed_total(self) -> int:
        return self.executed

    def open_total(self) -> int:
        return self.open

    def all_received_inspected(self) -> bool:
        return self.inspected


MACHINE_ACTIONS = sorted({row.action for spec in SPECS for row in spec.transitions})
models = st.builds(
    Model,
    held_from=st.none() | st.sampled_from(ProcessingStatus),
    anomaly_from=st.none() | st.sampled_from(ProcessingStatus),
    fulfillment_requested_at=st.none() | st.just(NOW),
    expected_resolution=st.sampled_from(ExpectedResolution),
    due=st.integers(0, 3),
    executed=st.integers(0, 3),
    open=st.integers(0, 3),
    inspected=st.booleans(),
)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.dimension.value)
@settings(max_examples=60, deadline=None)
@given(model=models, target=st.sampled_from(DeliveryStatus))
def test_the_table_check_agrees_with_the_machine_built_from_the_table(
    spec: Any, model: Model, target: DeliveryStatus
) -> None:
    machine = MACHINES[spec.dimension]
    for status in spec.states:
        for action in MACHINE_ACTIONS:
            setattr(model, spec.attribute, status)
            kwargs = {"status": target}

            refused = refusal(spec.dimension, model, action, **kwargs)
            event = machine.events.get(action)
            try:
                moved = event is not None and bool(event.trigger(model, **kwargs))
            except MachineError:
                moved = False

            assert (refused is None) == moved, (status, action)
            assert getattr(model, spec.attribute) != status or refused is not None or moved


def oracle(rma: RmaOrder) -> list[tuple[Action, bool, str | None]]:
    """availableActions as first written: every action tried on a deep copy."""
    result: list[tuple[Action, bool, str | None]] = []
    for action in ACTIONS + CHILD_ACTIONS:
        try:
            copy.copy(rma)._fire(Dimension.PROCESSING, action)
        except InvalidTransitionError as error:
            result.append((action, False, error.message))
            continue
        attempts = aggregate._attempts(rma, action)
        if not attempts:
            result.append((action, False, aggregate._NOTHING_TO_ACT_ON[action]))
            continue
        reason: str | None = None
        allowed = False
        for params in attempts:
            try:
                aggregate._HANDLERS[action](copy.deepcopy(rma), datetime.min, **params)
            except (InvalidTransitionError, BadUserInputError) as error:
                by_state = isinstance(error, InvalidTransitionError) and error.dimension == "PROCESSING"
                if reason is None or by_state:
                    reason = error.message
                continue
            allowed = True
            break
        if allowed:
            result.append((action, True, None))
            continue
        if action == "updateDeliveryStatus" and rma.processing_status in (
            ProcessingStatus.ACCEPTED,
            ProcessingStatus.ANOMALY,
        ):
            reason = f"No delivery status can follow {rma.delivery_status}."
        result.append((action, False, reason))
    return result


def _params(rma: RmaOrder, action: Action, pick: int) -> dict[str, Any] | None:
    """Parameters for ``action``, or None when it names a resolution and there is none."""
    lines = rma.lines
    resolutions = [r.id for r in rma.financial_resolutions]
    if not resolutions and action in (
        Action.EXECUTE_FINANCIAL_RESOLUTION,
        Action.REJECT_FINANCIAL_RESOLUTION,
    ):
        return None
    resolutions = resolutions or ["none"]
    return {
        Action.UPDATE_DELIVERY_STATUS: {"status": list(DeliveryStatus)[pick % len(DeliveryStatus)]},
        Action.RECEIVE_LINE: {
            "line_id": lines[pick % len(lines)].id,
            "quantity": 1 + pick % 3,
            "serial_numbers": [],
        },
        Action.INSPECT_LINE: {
            "line_id": lines[pick % len(lines)].id,
            "quantity": 1,
            "result": list(InspectionResult)[pick % len(InspectionResult)],
            "disposition": list(Disposition)[pick % len(Disposition)],
        },
        Action.CREATE_FINANCIAL_RESOLUTION: {
            "type": FinancialResolutionType.REFUND if pick % 2 else FinancialResolutionType.VOUCHER,
            "amount": 500 * (pick % 4) or None,
        },
        Action.EXECUTE_FINANCIAL_RESOLUTION: {
            "resolution_id": resolutions[pick % len(resolutions)],
            "reference": None,
        },
        Action.REJECT_FINANCIAL_RESOLUTION: {"resolution_id": resolutions[pick % len(resolutions)]},
        Action.CREATE_REPLACEMENT_ORDER: {"description": "replacement"},
    }.get(action, {})


EVERY_ACTION = ACTIONS + CHILD_ACTIONS
ENDINGS = (Action.CANCEL, Action.DELETE, Action.REJECT)


@settings(max_examples=150, deadline=None)
@given(
    resolution=st.sampled_from(ExpectedResolution),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 11)), max_size=16),
)
def test_available_actions_equal_trying_every_action_on_a_deep_copy(
    resolution: ExpectedResolution, steps: list[tuple[bool, int, int]]
) -> None:
    lines = [RmaLine(sku=f"SKU-{i}", quantity=2, reason=ReturnReason.DEFECTIVE, price=1500) for i in range(2)]
    rma, _ = RmaOrder.create(id="rma", expected_resolution=resolution, currency="EUR", lines=lines, now=NOW)
    for i, (explore, choice, pick) in enumerate(steps):
        # Mostly an allowed action that does not end the return, so that the walk reaches
        # deep states; sometimes any action.
        allowed = [action for action, ok, _ in oracle(rma) if ok and action not in ENDINGS]
        action = (
            EVERY_ACTION[choice % len(EVERY_ACTION)]
            if explore or not allowed
            else allowed[choice % len(allowed)]
        )
        params = _params(rma, action, pick)
        if params is None:
            continue
        before = copy.deepcopy(rma)

        try:
            rma.perform(action, now=NOW + timedelta(minutes=i), **params)
        except DomainError:
            assert rma == before  # a refusal changes nothing

        assert rma.available_actions() == oracle(rma)


def test_a_twin_shares_nothing_it_could_change() -> None:
    lines = [RmaLine(sku="A", quantity=1, reason=ReturnReason.DEFECTIVE, pictures=["p"])]
    rma, _ = RmaOrder.create(
        id="rma", expected_resolution=ExpectedResolution.REFUND, currency="EUR", lines=lines, now=NOW
    )

    twin = rma.twin()

    assert twin == rma
    assert twin is not rma
    assert all(a is not b for a, b in zip(twin.lines, rma.lines, strict=True))
    assert twin.lines[0].pictures is not rma.lines[0].pictures
    assert twin.lines[0].received_serial_numbers is not rma.lines[0].received_serial_numbers
