"""The state machines as GraphQL shows them (rmaStateMachines), built once from the domain's tables."""

from rma_graphql.api.types import (
    RmaStateMachine,
    RmaStateTransition,
)
from rma_graphql.domain.machines import SPECS, mermaid


def _state_machines() -> list[RmaStateMachine]:
    return [
        RmaStateMachine(
            dimension=spec.dimension,
            states=[state.value for state in spec.states],
            initial=spec.initial.value,
            finals=[state.value for state in spec.finals],
            transitions=[
                RmaStateTransition(
                    action=row.action,
                    from_=row.source.value,
                    to=row.dest.value,
                    guard=row.guard.label if row.guard else None,
                )
                for row in spec.transitions
            ],
            mermaid=mermaid(spec),
        )
        for spec in SPECS
    ]


STATE_MACHINES = _state_machines()
