"""RMA order changes: every state-machine action and comments; and ``owner_of``, which finds
the RMA order a line, a shipment or a resolution belongs to."""

from typing import Any

from rma_graphql.db import event_log, rma_reads
from rma_graphql.db import repository as repo
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.eligibility import (
    ReturnPolicy,
)
from rma_graphql.domain.errors import NotFoundError
from rma_graphql.domain.rma_order import RecordedEvent, RmaOrder
from rma_graphql.domain.statuses import (
    CommentVisibility,
)
from rma_graphql.service import payments
from rma_graphql.service.return_requests import (
    check_return,
)
from rma_graphql.service.unit_of_work import Change, UnitOfWork


async def owner_of(uow: UnitOfWork, caller: Caller, kind: str, child_id: str, name: str) -> str:
    """The id of the RMA order that a child (``lines``, ``shipments``,
    ``financial_resolutions``) belongs to, in the caller's organization; NOT_FOUND otherwise."""
    async with uow.read() as conn:
        rma_id = await rma_reads.owner_of(conn, caller.organization_id, kind, child_id)
    if rma_id is None:
        raise NotFoundError(f"{name} {child_id} not found.", child_id)
    return rma_id


async def _recheck_return(change: Change, rma: RmaOrder) -> None:
    """At submit, the policy snapshotted at creation applies again, now."""
    row = change.rma_orders.row(rma.id)
    if row["policy"] is None:
        return  # created before policies were kept
    linked = await change.rma_orders.linked_orders(rma.id)
    await check_return(
        change.conn,
        row["organization_id"],
        ReturnPolicy.from_json(row["policy"]),
        expected_resolution=rma.expected_resolution,
        lines=rma.lines,
        linked=repo.linked_pairs(linked),
        override_reason=row["return_window_override_reason"],
        exclude_rma_id=rma.id,
        prefix="",
        now=change.now,
    )


async def perform_action(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    action: Action,
    *,
    expected_version: int | None = None,
    **params: Any,
) -> str:
    """Run one state-machine action on an RMA order in its own transaction."""
    async with uow.change(caller) as change:
        # Completing pays generated resolutions: concurrent completions queue on the row.
        lock = action is Action.COMPLETE_PROCESSING
        rma = await change.load(rma_id, action, expected_version=expected_version, lock=lock)
        known = {resolution.id for resolution in rma.financial_resolutions}
        events = rma.perform(action, now=change.now, **params)
        if action is Action.SUBMIT:
            await _recheck_return(change, rma)
        if action is Action.COMPLETE_PROCESSING:
            events += await _pay_generated_resolutions(change, rma, known)
        await change.rma_orders.save(rma, events, last=True)
    return rma_id


async def _pay_generated_resolutions(change: Change, rma: RmaOrder, known: set[str]) -> list[RecordedEvent]:
    """With ``autoExecuteFinancialResolution``, the resolution completing generated (any
    not ``known`` before) is paid at once, through its provider, by the system."""
    if not rma.auto_execute_financial_resolution:
        return []
    row = change.rma_orders.row(rma.id)
    paid: list[RecordedEvent] = []
    for resolution in list(rma.financial_resolutions):
        if resolution.id not in known:
            paid += await payments.execute(
                change.conn, row, rma, resolution.id, None, change.now, system=True
            )
    return paid


COMMENT_MAX_LENGTH = 10_000


async def add_comment(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    text: str,
    visibility: CommentVisibility,
    *,
    expected_version: int | None = None,
) -> str:
    """Add a comment to an RMA order: one COMMENT_ADDED event and a new version."""
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.ADD_COMMENT, expected_version=expected_version)
        events = rma.add_comment(text, visibility)
        await event_log.insert_comment(
            change.conn,
            organization_id=caller.organization_id,
            rma_id=rma_id,
            sequence=change.rma_orders.next_sequence(rma_id),
            text=text,
            visibility=visibility.value,
            author=caller.actor,
            now=change.now,
        )
        await change.rma_orders.save(rma, events)
    return rma_id
