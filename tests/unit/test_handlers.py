"""Handlers against a fake unit of work: what a use case loads, decides and saves, with no
database. The fake commits a change's saves only when its block ends without an error, as
the real unit of work's transaction does."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import (
    CommandFieldError,
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
)
from rma_graphql.domain.rma_order import RecordedEvent, RmaLine, RmaOrder
from rma_graphql.domain.statuses import (
    EventType,
    ExpectedResolution,
    FinancialResolutionType,
    ProcessingStatus,
    ReturnReason,
)
from rma_graphql.service.resolutions import create_resolution
from rma_graphql.service.rma_orders import perform_action
from rma_graphql.service.unit_of_work import Change, UnitOfWork

NOW = datetime(2026, 3, 1, tzinfo=UTC)
STAFF = Caller(organization_id="org")
CUSTOMER = Caller(
    organization_id="org", actor={"type": "USER", "id": "ada", "name": "ada"}, role=Role.CUSTOMER
)


@dataclass
class FakeRmaOrders:
    """RMA orders in memory, with the repository's interface: get, row, next_sequence, save."""

    stored: dict[str, RmaOrder]
    owners: dict[str, str] = field(default_factory=dict)
    customer_id: str | None = None
    saves: list[tuple[RmaOrder, list[RecordedEvent]]] = field(default_factory=list)
    saved: dict[str, int] = field(default_factory=dict)

    async def get(self, rma_id: str, *, lock: bool = False) -> RmaOrder:
        rma = self.stored.get(rma_id)
        if rma is None or (self.customer_id is not None and self.owners.get(rma_id) != self.customer_id):
            raise NotFoundError(f"RMA order {rma_id} not found.", rma_id)
        return rma.twin()

    def row(self, rma_id: str) -> dict[str, Any]:
        return {"id": rma_id, "organization_id": "org", "policy": None, "last_event_sequence": 1}

    def next_sequence(self, rma_id: str) -> int:
        return 2

    async def save(self, rma: RmaOrder, events: Sequence[RecordedEvent], **_: Any) -> dict[str, Any]:
        rma.version = self.stored[rma.id].version + 1
        self.saves.append((rma.twin(), list(events)))
        self.saved[rma.id] = rma.version
        return self.row(rma.id)


class FakeUnitOfWork:
    def __init__(self, *orders: RmaOrder, owners: dict[str, str] | None = None) -> None:
        self.stored = {rma.id: rma for rma in orders}
        self.owners = owners or {}
        self.committed: list[tuple[RmaOrder, list[RecordedEvent]]] = []

    @asynccontextmanager
    async def change(self, caller: Caller) -> AsyncIterator[Change]:
        repository = FakeRmaOrders(self.stored, self.owners, caller.customer_id)
        yield Change(conn=cast(Any, None), now=NOW, caller=caller, rma_orders=cast(Any, repository))
        # Reached only when the block raised nothing: the change commits.
        for rma, events in repository.saves:
            self.stored[rma.id] = rma
            self.committed.append((rma, events))


def rma_order(rma_id: str = "rma-1", *path: Action) -> RmaOrder:
    lines = [RmaLine(sku="TSHIRT-M", quantity=2, reason=ReturnReason.DEFECTIVE, price=2000)]
    rma, _ = RmaOrder.create(
        id=rma_id, expected_resolution=ExpectedResolution.REFUND, currency="EUR", lines=lines, now=NOW
    )
    for action in path:
        rma.perform(action, now=NOW)
    rma.version = 1 + len(path)  # as the repository would have saved each step
    return rma


def as_uow(fake: FakeUnitOfWork) -> UnitOfWork:
    return cast(UnitOfWork, fake)


async def test_accepting_loads_decides_and_saves_the_next_version_with_its_event() -> None:
    uow = FakeUnitOfWork(rma_order("rma-1", Action.SUBMIT))

    await perform_action(as_uow(uow), STAFF, "rma-1", Action.ACCEPT, expected_version=2)

    [(saved, events)] = uow.committed
    assert (saved.processing_status, saved.version) == (ProcessingStatus.ACCEPTED, 3)
    assert [event.type for event in events] == [EventType.ACCEPTED]


@pytest.mark.parametrize(
    ("caller", "action", "expected_version", "refusal"),
    [
        (STAFF, Action.ACCEPT, None, InvalidTransitionError),  # NEW cannot be accepted
        (STAFF, Action.SUBMIT, 7, ConflictError),
        (CUSTOMER, Action.SUBMIT, None, NotFoundError),  # another customer's RMA order
        (STAFF, Action.SUBMIT, None, None),
    ],
)
async def test_a_refused_action_saves_nothing(
    caller: Caller, action: Action, expected_version: int | None, refusal: type[DomainError] | None
) -> None:
    uow = FakeUnitOfWork(rma_order("rma-1"), owners={"rma-1": "grace"})
    before = uow.stored["rma-1"].twin()

    if refusal is None:
        await perform_action(as_uow(uow), caller, "rma-1", action, expected_version=expected_version)
        assert len(uow.committed) == 1
        return
    with pytest.raises(refusal):
        await perform_action(as_uow(uow), caller, "rma-1", action, expected_version=expected_version)

    assert uow.committed == []
    assert uow.stored["rma-1"] == before


async def test_a_customer_may_not_accept_its_own_return() -> None:
    uow = FakeUnitOfWork(rma_order("rma-1", Action.SUBMIT), owners={"rma-1": "ada"})

    with pytest.raises(ForbiddenError) as refused:
        await perform_action(as_uow(uow), CUSTOMER, "rma-1", Action.ACCEPT)

    assert refused.value.message == "A customer may not accept an RMA order."
    assert uow.committed == []


async def test_a_resolution_beyond_what_is_due_is_refused_on_its_amount_in_domain_words() -> None:
    done = (Action.SUBMIT, Action.ACCEPT, Action.START_FULFILLMENT, Action.COMPLETE_PROCESSING)
    uow = FakeUnitOfWork(rma_order("rma-1", *done))

    with pytest.raises(CommandFieldError) as refused:
        await create_resolution(as_uow(uow), STAFF, "rma-1", FinancialResolutionType.REFUND, 40.01)

    assert refused.value.field == "amount"
    assert refused.value.message == "The amount must be above 0 and at most the 4000 minor units still due."
    assert uow.committed == []

    resolution_id = await create_resolution(as_uow(uow), STAFF, "rma-1", FinancialResolutionType.REFUND, 40.0)

    [(saved, events)] = uow.committed
    assert [r.id for r in saved.financial_resolutions] == [resolution_id]
    assert [event.type for event in events] == [EventType.FINANCIAL_RESOLUTION_CREATED]
