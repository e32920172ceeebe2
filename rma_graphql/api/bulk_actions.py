"""GraphQL for bulk actions (rmaOrdersBulkAction) and their progress (bulkActionProgress)."""

import uuid
from collections.abc import AsyncGenerator

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.inputs import RmaOrderFilterInput, parse_uuid, text
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_actions import DryRun
from rma_graphql.api.rma_order_type import RmaOrderType, rma_order_criteria, rma_payload
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError, ForbiddenError
from rma_graphql.service import bulk_actions as bulk
from rma_graphql.service import queries

strawberry.enum(bulk.BulkAction, name="RmaBulkAction")
RmaBulkAction = bulk.BulkAction


@strawberry.input
class RmaExpectedVersionInput:
    id: str
    version: int


@strawberry.input
class RmaOrdersBulkActionInput:
    action: RmaBulkAction
    ids: list[str] | None = strawberry.field(
        default=None, description=f"The RMA orders, at most {bulk.MAX_BULK}; or give a filter."
    )
    filter: RmaOrderFilterInput | None = strawberry.field(
        default=None,
        description=f"The RMA orders rmaOrders lists with this filter, oldest first; at most {bulk.MAX_BULK} "
        "may match (else nothing changes and the refusal says how many did).",
    )
    reason: str | None = strawberry.field(default=None, description="For REJECT, CANCEL and HOLD.")
    custom_state_code: str | None = strawberry.field(default=None, description="For SET_CUSTOM_STATE.")
    expected_versions: list[RmaExpectedVersionInput] | None = strawberry.field(
        default=None, description="The version each RMA order is expected at (CONFLICT for one that is not)."
    )
    dry_run: DryRun = False
    id: str | None = strawberry.field(
        default=None,
        description="The run's id (a UUID you pick) to follow it with bulkActionProgress before the answer "
        "arrives; one is made when omitted.",
    )


@strawberry.type
class RmaBulkItemError:
    code: str
    message: str


@strawberry.type
class RmaBulkItemResult:
    id: str
    ok: bool
    rma_order: RmaOrderType | None = strawberry.field(
        description="The RMA order as the action left it (as it would leave it, in a dry run); null on error."
    )
    error: RmaBulkItemError | None


@strawberry.type
class RmaOrdersBulkActionPayload:
    id: strawberry.ID
    results: list[RmaBulkItemResult]
    ok_count: int
    error_count: int


@strawberry.type
class RmaBulkActionProgress:
    id: strawberry.ID
    action: RmaBulkAction
    total: int
    done: int
    ok_count: int
    error_count: int
    finished: bool

    @classmethod
    def of(cls, progress: bulk.Progress) -> "RmaBulkActionProgress":
        return cls(
            id=strawberry.ID(progress.id),
            action=bulk.BulkAction(progress.action),
            total=progress.total,
            done=progress.done,
            ok_count=progress.ok_count,
            error_count=progress.error_count,
            finished=progress.finished,
        )


async def _matching(info: RmaInfo, filter: RmaOrderFilterInput | None) -> list[str]:
    """The ids of the RMA orders the filter matches, oldest first; refused beyond the limit."""
    ctx = context_of(info)
    criteria = rma_order_criteria(filter)
    ids: list[str] = []
    after: str | None = None
    while True:
        page = await queries.list_rma_orders(
            ctx.uow, ctx.authenticated, criteria, first=100, after=after, sort="CREATED_AT_ASC"
        )
        ids += [row.id for row in page.rows]
        if len(ids) > bulk.MAX_BULK:
            total = await queries.RmaOrderMatches(ctx.uow, ctx.authenticated, criteria).exact()
            raise BadUserInputError(
                f"The filter matches {total} RMA orders; a bulk action takes at most {bulk.MAX_BULK}.",
                "input.filter",
                reason="TOO_MANY",
                matches=total,
            )
        if not page.has_next_page:
            return ids
        after = page.end_cursor


def _command(input: RmaOrdersBulkActionInput, ids: list[str]) -> bulk.BulkCommand:
    versions = {v.id: v.version for v in input.expected_versions or []}
    return bulk.BulkCommand(
        action=bulk.BulkAction(input.action),
        ids=list(dict.fromkeys(ids)),
        reason=text(input.reason, "input.reason", 2000),
        custom_state_code=text(input.custom_state_code, "input.customStateCode"),
        expected_versions=versions,
    )


def _check_caller(info: RmaInfo, action: bulk.BulkAction) -> None:
    caller = context_of(info).authenticated
    if caller.customer_id is not None:
        raise ForbiddenError("A customer may not run bulk actions.")
    scope = access.action_scope(bulk.ACTIONS[action])
    if scope not in caller.scopes:
        raise ForbiddenError(f"Insufficient scope: {scope} required")


@strawberry.type
class BulkActionMutation:
    @strawberry.mutation(
        description=f"Run one action on up to {bulk.MAX_BULK} RMA orders (by ids, or by a filter): each RMA "
        "order changes in its own transaction exactly as the single action would, and a failure on one never "
        "affects the others; its result says which. Staff only; the action's own scope is needed.",
        **scoped(access.VIEW_RMA_ORDERS),
    )
    async def rma_orders_bulk_action(
        self, info: RmaInfo, input: RmaOrdersBulkActionInput
    ) -> RmaOrdersBulkActionPayload:
        ctx = context_of(info)
        action = bulk.BulkAction(input.action)
        _check_caller(info, action)
        if (input.ids is None) == (input.filter is None):
            raise BadUserInputError("Give either ids or a filter.", "input.ids")
        if input.ids is not None:
            bulk.check_count(len(input.ids))
        run_id = parse_uuid(input.id, "input.id") if input.id is not None else str(uuid.uuid4())
        ids = input.ids if input.ids is not None else await _matching(info, input.filter)
        assert ctx.hub is not None, "the app's lifespan has not started"
        with ctx.uow.dry_run(input.dry_run):
            progress = ctx.hub.bulk_progress
            items = await bulk.run(ctx.uow, ctx.authenticated, progress, run_id, _command(input, ids))
        results = [
            RmaBulkItemResult(
                id=item.id,
                ok=item.ok,
                rma_order=await rma_payload(info, item.id) if item.ok else None,
                error=None if item.ok else RmaBulkItemError(code=item.code or "", message=item.message or ""),
            )
            for item in items
        ]
        ok = sum(item.ok for item in items)
        return RmaOrdersBulkActionPayload(
            id=strawberry.ID(run_id), results=results, ok_count=ok, error_count=len(items) - ok
        )


async def bulk_action_progress(
    info: RmaInfo, id: strawberry.ID
) -> AsyncGenerator[RmaBulkActionProgress, None]:
    """A bulk action's progress (its payload's id, or the id given in its input): where it stands
    now, or as soon as it starts, then as it goes, ending when it finishes."""
    ctx = context_of(info)
    run_id = parse_uuid(id, "id")
    assert ctx.hub is not None, "the app's lifespan has not started"
    async for progress in ctx.hub.bulk_progress.follow(run_id, ctx.authenticated.organization_id):
        yield RmaBulkActionProgress.of(progress)
