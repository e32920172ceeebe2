"""The four status machines of an RMA order, declared once as data.

Each dimension's table is built into one shared ``transitions.Machine(model=None,
auto_transitions=False)`` at import. The machines are used as validators: the aggregate
fires a trigger on itself, the machine checks the source state and the guards and sets the
new status. ``availableActions``, ``rmaStateMachines``, the diagrams and the
``allowedActions`` of an error all derive from these same tables.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import InvalidTransitionError
from rma_graphql.domain.statuses import (
    DeliveryStatus,
    Dimension,
    ExpectedResolution,
    FinancialStatus,
    FulfillmentStatus,
    ProcessingStatus,
)

# transitions logs every trigger at INFO; the events table is our audit trail.
logging.getLogger("transitions").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Guard:
    """A condition on a transition, with the words used in diagrams and refusals."""

    label: str
    refusal: str
    check: Callable[[Any, Mapping[str, Any]], bool]


@dataclass(frozen=True)
class TransitionSpec:
    action: str
    source: StrEnum
    dest: StrEnum
    guard: Guard | None = None


@dataclass(frozen=True)
class MachineSpec:
    dimension: Dimension
    states: type[StrEnum]
    initial: StrEnum
    attribute: str
    finals: tuple[StrEnum, ...]
    transitions: tuple[TransitionSpec, ...]


def _held_from(status: ProcessingStatus) -> Guard:
    return Guard(
        label=f"held from {status.value}",
        refusal=f"the order was not held from {status.value}",
        check=lambda rma, _kw: rma.held_from == status,
    )


def _anomaly_from(status: ProcessingStatus) -> Guard:
    return Guard(
        label=f"anomaly from {status.value}",
        refusal=f"the anomaly was not flagged from {status.value}",
        check=lambda rma, _kw: rma.anomaly_from == status,
    )


def _target(status: DeliveryStatus) -> Guard:
    return Guard(
        label=f"status {status.value}",
        refusal="the delivery status cannot move to the requested status",
        check=lambda _rma, kw: kw.get("status") == status,
    )


_CANCELABLE_HOLDS = (ProcessingStatus.NEW, ProcessingStatus.REQUESTED, ProcessingStatus.ACCEPTED)
_HELD_CANCELABLE = Guard(
    label="held from NEW, REQUESTED or ACCEPTED",
    refusal="the order was held from a status that cannot be cancelled",
    check=lambda rma, _kw: rma.held_from in _CANCELABLE_HOLDS,
)
_NOT_YET_REQUESTED = Guard(
    label="not yet requested",
    refusal="fulfillment was already requested",
    check=lambda rma, _kw: rma.fulfillment_requested_at is None,
)
_NOTHING_DUE = Guard(
    label="amount due is 0",
    refusal="an amount is due",
    check=lambda rma, _kw: rma.amount_due() == 0,
)
_FULLY_EXECUTED = Guard(
    label="executed total reaches the amount due",
    refusal="the executed total does not reach the amount due",
    check=lambda rma, _kw: rma.executed_total() >= rma.amount_due(),
)
_PARTIALLY_EXECUTED = Guard(
    label="executed total below the amount due",
    refusal="the executed total reaches the amount due",
    check=lambda rma, _kw: rma.executed_total() < rma.amount_due(),
)
_ALL_RECEIVED_INSPECTED = Guard(
    label="every received unit inspected",
    refusal="some received units are not inspected yet",
    check=lambda rma, _kw: rma.all_received_inspected(),
)
_REPLACEMENT = Guard(
    label="expected resolution REPLACE",
    refusal="the expected resolution is not REPLACE",
    check=lambda rma, _kw: rma.expected_resolution is ExpectedResolution.REPLACE,
)
_NOTHING_OPEN_OR_EXECUTED = Guard(
    label="no other resolution open or executed",
    refusal="another resolution is open or executed",
    check=lambda rma, _kw: rma.open_total() == 0 and rma.executed_total() == 0,
)
_OTHER_OPEN = Guard(
    label="another resolution open, none executed",
    refusal="no other resolution is open, or one is executed",
    check=lambda rma, _kw: rma.open_total() > 0 and rma.executed_total() == 0,
)
_SOME_EXECUTED = Guard(
    label="some resolution executed",
    refusal="no resolution is executed",
    check=lambda rma, _kw: rma.executed_total() > 0,
)
_MONETARY_RESOLUTION = Guard(
    label="expected resolution REFUND or VOUCHER",
    refusal="the expected resolution is not monetary",
    check=lambda rma, _kw: rma.expected_resolution in (ExpectedResolution.REFUND, ExpectedResolution.VOUCHER),
)
_NON_MONETARY_RESOLUTION = Guard(
    label="expected resolution NONE or REPLACE",
    refusal="the expected resolution is monetary",
    check=lambda rma, _kw: rma.expected_resolution in (ExpectedResolution.NONE, ExpectedResolution.REPLACE),
)

P = ProcessingStatus
D = DeliveryStatus
F = FinancialStatus
U = FulfillmentStatus


def _processing_transitions() -> tuple[TransitionSpec, ...]:
    t = TransitionSpec
    rows = [
        t(Action.UPDATE, P.NEW, P.NEW),
        t(Action.SUBMIT, P.NEW, P.REQUESTED),
        t(Action.ACCEPT, P.REQUESTED, P.ACCEPTED),
        t(Action.REJECT, P.REQUESTED, P.REJECTED),
        *(t(Action.CANCEL, s, P.CANCELED) for s in _CANCELABLE_HOLDS),
        t(Action.CANCEL, P.ON_HOLD, P.CANCELED, _HELD_CANCELABLE),
        t(Action.REQUEST_FULFILLMENT, P.ACCEPTED, P.ACCEPTED, _NOT_YET_REQUESTED),
        t(Action.START_FULFILLMENT, P.ACCEPTED, P.PROCESSING),
        t(Action.COMPLETE_PROCESSING, P.PROCESSING, P.COMPLETE, _ALL_RECEIVED_INSPECTED),
        # Receiving and inspection happen while the parcel is being processed.
        t(Action.RECEIVE_LINE, P.PROCESSING, P.PROCESSING),
        t(Action.INSPECT_LINE, P.PROCESSING, P.PROCESSING),
    ]
    # Money moves once what came back is known: every received unit inspected, or completed.
    for action in ("createFinancialResolution", "executeFinancialResolution"):
        rows += [
            t(action, P.PROCESSING, P.PROCESSING, _ALL_RECEIVED_INSPECTED),
            t(action, P.COMPLETE, P.COMPLETE),
        ]
    rows += [t(Action.REJECT_FINANCIAL_RESOLUTION, s, s) for s in (P.PROCESSING, P.COMPLETE)]
    rows += [
        t(Action.CREATE_REPLACEMENT_ORDER, s, s, _REPLACEMENT) for s in (P.ACCEPTED, P.PROCESSING, P.COMPLETE)
    ]
    holdable = (P.NEW, P.REQUESTED, P.ACCEPTED, P.PROCESSING, P.ANOMALY)
    rows += [t(Action.HOLD, s, P.ON_HOLD) for s in holdable]
    rows += [t(Action.RESUME, P.ON_HOLD, s, _held_from(s)) for s in holdable]
    rows += [t(Action.FLAG_ANOMALY, s, P.ANOMALY) for s in (P.ACCEPTED, P.PROCESSING)]
    rows += [t(Action.RESOLVE_ANOMALY, P.ANOMALY, s, _anomaly_from(s)) for s in (P.ACCEPTED, P.PROCESSING)]
    rows += [t(Action.DELETE, s, P.DELETED) for s in (P.NEW, P.REJECTED, P.CANCELED)]
    rows += [
        t(Action.UPDATE_DELIVERY_STATUS, P.ACCEPTED, P.ACCEPTED),
        t(Action.UPDATE_DELIVERY_STATUS, P.ANOMALY, P.ANOMALY, _anomaly_from(P.ACCEPTED)),
    ]
    return tuple(rows)


# The main path of a parcel; carrier scans are sparse, so forward skips are allowed.
DELIVERY_PATH = (D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING, D.DELIVERED)


def _delivery_transitions() -> tuple[TransitionSpec, ...]:
    t = TransitionSpec
    rows: list[TransitionSpec] = []
    for i, source in enumerate(DELIVERY_PATH):
        rows += [t(Action.UPDATE_DELIVERY_STATUS, source, d, _target(d)) for d in DELIVERY_PATH[i + 1 :]]
        if source is not D.DELIVERED:
            rows.append(t(Action.UPDATE_DELIVERY_STATUS, source, D.ERROR, _target(D.ERROR)))
    rows += [
        t(Action.UPDATE_DELIVERY_STATUS, D.ERROR, d, _target(d))
        for d in (D.HANDLED, D.PROCESSING, D.DELIVERING, D.DELIVERED)
    ]
    rows += [
        t(Action.UPDATE_DELIVERY_STATUS, s, D.DELIVERED_TO_SENDER, _target(D.DELIVERED_TO_SENDER))
        for s in (D.HANDLED, D.PROCESSING, D.DELIVERING, D.ERROR)
    ]
    in_flight = (D.PENDING, D.HANDLED, D.PROCESSING, D.DELIVERING, D.ERROR)
    rows += [t(Action.CANCEL, s, D.CANCELED) for s in in_flight]
    rows += [t(Action.START_FULFILLMENT, s, D.DELIVERED) for s in in_flight]
    rows.append(t(Action.RESOLVE_ANOMALY, D.DELIVERED_TO_SENDER, D.PENDING))
    return tuple(rows)


def _fulfillment_transitions() -> tuple[TransitionSpec, ...]:
    t = TransitionSpec
    return (
        t(Action.START_FULFILLMENT, U.PENDING, U.IN_PROGRESS),
        t(Action.COMPLETE_PROCESSING, U.IN_PROGRESS, U.COMPLETE),
        t(Action.FLAG_ANOMALY, U.IN_PROGRESS, U.ERROR),
        t(Action.RESOLVE_ANOMALY, U.ERROR, U.IN_PROGRESS),
        t(Action.CANCEL, U.PENDING, U.CANCELED),
    )


def _financial_transitions() -> tuple[TransitionSpec, ...]:
    t = TransitionSpec
    execute = "executeFinancialResolution"
    return (
        t(Action.UPDATE, F.PENDING, F.NONE, _NON_MONETARY_RESOLUTION),
        t(Action.UPDATE, F.NONE, F.PENDING, _MONETARY_RESOLUTION),
        t(execute, F.PENDING, F.REFUNDED, _FULLY_EXECUTED),
        t(execute, F.PENDING, F.PARTIALLY_REFUNDED, _PARTIALLY_EXECUTED),
        t(execute, F.EXECUTION_ERROR, F.REFUNDED, _FULLY_EXECUTED),
        t(execute, F.EXECUTION_ERROR, F.PARTIALLY_REFUNDED, _PARTIALLY_EXECUTED),
        t(execute, F.PARTIALLY_REFUNDED, F.REFUNDED, _FULLY_EXECUTED),
        t(execute, F.PARTIALLY_REFUNDED, F.PARTIALLY_REFUNDED, _PARTIALLY_EXECUTED),
        *(
            t(Action.CREATE_FINANCIAL_RESOLUTION, s, s)
            for s in (F.PENDING, F.PARTIALLY_REFUNDED, F.EXECUTION_ERROR)
        ),
        t(Action.REJECT_FINANCIAL_RESOLUTION, F.PENDING, F.REFUND_REJECTED, _NOTHING_OPEN_OR_EXECUTED),
        t(Action.REJECT_FINANCIAL_RESOLUTION, F.PENDING, F.PENDING, _OTHER_OPEN),
        t(Action.REJECT_FINANCIAL_RESOLUTION, F.PARTIALLY_REFUNDED, F.PARTIALLY_REFUNDED),
        t(
            Action.REJECT_FINANCIAL_RESOLUTION,
            F.EXECUTION_ERROR,
            F.REFUND_REJECTED,
            _NOTHING_OPEN_OR_EXECUTED,
        ),
        t(Action.REJECT_FINANCIAL_RESOLUTION, F.EXECUTION_ERROR, F.PENDING, _OTHER_OPEN),
        t(Action.REJECT_FINANCIAL_RESOLUTION, F.EXECUTION_ERROR, F.PARTIALLY_REFUNDED, _SOME_EXECUTED),
        t("failExecution", F.PENDING, F.EXECUTION_ERROR),
        t("failExecution", F.PARTIALLY_REFUNDED, F.EXECUTION_ERROR),
        t("failExecution", F.EXECUTION_ERROR, F.EXECUTION_ERROR),
        t(Action.CANCEL, F.PENDING, F.CANCELED),
        t(Action.REJECT, F.PENDING, F.NONE),
        t(Action.COMPLETE_PROCESSING, F.PENDING, F.NONE, _NOTHING_DUE),
    )


PROCESSING_SPEC = MachineSpec(
    dimension=Dimension.PROCESSING,
    states=ProcessingStatus,
    initial=P.NEW,
    attribute="processing_status",
    finals=(P.COMPLETE, P.DELETED),
    transitions=_processing_transitions(),
)
DELIVERY_SPEC = MachineSpec(
    dimension=Dimension.DELIVERY,
    states=DeliveryStatus,
    initial=D.PENDING,
    attribute="delivery_status",
    finals=(D.DELIVERED, D.DELIVERED_TO_SENDER, D.CANCELED),
    transitions=_delivery_transitions(),
)
FULFILLMENT_SPEC = MachineSpec(
    dimension=Dimension.FULFILLMENT,
    states=FulfillmentStatus,
    initial=U.PENDING,
    attribute="fulfillment_status",
    finals=(U.COMPLETE, U.CANCELED),
    transitions=_fulfillment_transitions(),
)
FINANCIAL_SPEC = MachineSpec(
    dimension=Dimension.FINANCIAL,
    states=FinancialStatus,
    initial=F.PENDING,
    attribute="financial_status",
    finals=(F.NONE, F.REFUNDED, F.REFUND_REJECTED, F.CANCELED),
    transitions=_financial_transitions(),
)
SPECS: tuple[MachineSpec, ...] = (PROCESSING_SPEC, DELIVERY_SPEC, FINANCIAL_SPEC, FULFILLMENT_SPEC)


def _condition(guard: Guard) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        return guard.check(event.model, event.kwargs)

    return check


def _build(spec: MachineSpec) -> Machine:
    return Machine(
        model=None,
        states=spec.states,
        initial=spec.initial,
        transitions=[
            {
                "trigger": row.action,
                "source": row.source,
                "dest": row.dest,
                "conditions": [_condition(row.guard)] if row.guard else [],
            }
            for row in spec.transitions
        ],
        model_attribute=spec.attribute,
        auto_transitions=False,
        send_event=True,
    )


MACHINES: dict[Dimension, Machine] = {spec.dimension: _build(spec) for spec in SPECS}
_SPEC_BY_DIMENSION = {spec.dimension: spec for spec in SPECS}


def _rows(spec: MachineSpec) -> dict[tuple[str, StrEnum], tuple[TransitionSpec, ...]]:
    rows: dict[tuple[str, StrEnum], list[TransitionSpec]] = {}
    for row in spec.transitions:
        rows.setdefault((row.action, row.source), []).append(row)
    return {key: tuple(found) for key, found in rows.items()}


# (action, source status) -> the table's rows, per dimension.
_ROWS = {spec.dimension: _rows(spec) for spec in SPECS}


def refusal(dimension: Dimension, model: Any, action: str, **kwargs: Any) -> InvalidTransitionError | None:
    """Why ``action`` cannot move ``model`` in one dimension now, or None when it can: read
    off the table (a row from the current status whose guard holds), changing nothing."""
    spec = _SPEC_BY_DIMENSION[dimension]
    current = getattr(model, spec.attribute)
    rows = _ROWS[dimension].get((action, current), ())
    if any(row.guard is None or row.guard.check(model, kwargs) for row in rows):
        return None
    refusals = {row.guard.refusal for row in rows if row.guard is not None}
    detail = f": {next(iter(refusals))}" if len(refusals) == 1 else ""
    return InvalidTransitionError(
        f"Action '{action}' is not allowed while the {dimension.value.lower()} status is {current}{detail}.",
        dimension=dimension.value,
        from_status=str(current),
        action=action,
    )


def fire(dimension: Dimension, model: Any, action: str, **kwargs: Any) -> None:
    """Move ``model`` along ``action`` in one dimension, or raise ``InvalidTransitionError``."""
    refused = refusal(dimension, model, action, **kwargs)
    if refused is not None:
        raise refused
    # The table allows it: the machine built from the same table moves the model.
    if not MACHINES[dimension].events[action].trigger(model, **kwargs):
        raise AssertionError(f"the {dimension.value} machine disagrees with its table on {action}")


def mermaid(spec: MachineSpec) -> str:
    """The ``stateDiagram-v2`` text of one machine, from its table."""
    labels: dict[tuple[str, str], list[str]] = {}
    for row in spec.transitions:
        label = f"{row.action} [{row.guard.label}]" if row.guard else row.action
        edge = labels.setdefault((row.source.value, row.dest.value), [])
        if label not in edge:
            edge.append(label)
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial.value}"]
    lines += [f"    {source} --> {dest}: {', '.join(names)}" for (source, dest), names in labels.items()]
    lines += [f"    {state.value} --> [*]" for state in spec.finals]
    return "\n".join(lines) + "\n"
