"""GraphQL for the RMA order's state-machine actions, each one a mutation that can be a dry run."""

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderDeliveryStatus
from rma_graphql.api.inputs import LONG_TEXT, SHORT_TEXT, RmaContactInput, parse_uuid, text
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_order_type import RmaOrderType, rma_payload
from rma_graphql.domain import access
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service import rma_order_update
from rma_graphql.service import rma_orders as rma_service

DRY_RUN_DESCRIPTION = (
    "Run every check and answer as it would be after the change (an RMA order at its next version, its "
    "history ending with the events the change would record), writing nothing: no row, version, event, "
    "voucher or delivery. A refusal is the same refusal. Ids, timestamps and generated codes in the "
    "answer are placeholders."
)

# The dryRun argument of a mutation.
DryRun = Annotated[bool, strawberry.argument(description=DRY_RUN_DESCRIPTION)]

Version = int | None


async def act(
    info: RmaInfo, id: str, action: Action, expected_version: Version, dry_run: bool, **params: Any
) -> RmaOrderType:
    """Run ``action`` on the RMA order ``id`` (a dry run with ``dry_run``); the answer is the RMA
    order as the change left it."""
    ctx = context_of(info)
    rma_id = parse_uuid(id, "id")
    with ctx.uow.dry_run(dry_run):
        await rma_service.perform_action(
            ctx.uow, ctx.authenticated, rma_id, action, expected_version=expected_version, **params
        )
    if getattr(info, "answered_by_plan", False):
        # A compiled action (api/compiled_actions.py) reads the answer through its plan.
        return None  # type: ignore[return-value]
    return await rma_payload(info, rma_id)


def reason_text(value: str | None, field: str = "reason") -> str | None:
    return text(value, field, 2000)


@strawberry.input(
    description="The details staff may correct after submit; only the fields given change, a null "
    "clears owner, billingContact, comment, meta or externalReference (sender and deliveryContact "
    "cannot be null)."
)
class RmaOrderCorrectionInput:
    sender: RmaContactInput | None = strawberry.UNSET
    delivery_contact: RmaContactInput | None = strawberry.UNSET
    owner: RmaContactInput | None = strawberry.UNSET
    billing_contact: RmaContactInput | None = strawberry.UNSET
    comment: str | None = strawberry.UNSET
    external_reference: str | None = strawberry.UNSET
    meta: JSON | None = strawberry.UNSET

    def to_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, camel in rma_order_update.CORRECTABLE.items():
            value = getattr(self, name)
            if value is strawberry.UNSET:
                continue
            field = f"input.{camel}"
            if value is None and name in ("sender", "delivery_contact"):
                raise BadUserInputError("This field cannot be null.", field)
            if isinstance(value, RmaContactInput):
                value = value.to_json(field)
            elif name == "comment":
                value = text(value, field, LONG_TEXT)
            elif name == "external_reference":
                value = text(value, field, SHORT_TEXT)
            changes[name] = value
        if not changes:
            raise BadUserInputError("Give at least one field to correct.", "input")
        return changes


@strawberry.type
class RmaActionMutation:
    @strawberry.mutation(
        description="Correct an RMA order's contacts, comment, meta or external reference after submit, in "
        "any processing status but COMPLETE, CANCELED, REJECTED and DELETED (lines and money stay as they "
        "are): one CORRECTED event whose data lists each field before and after, and a new version; no "
        "event when nothing changes. Staff only (rmaOrderUpdate keeps its NEW-only rule).",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_order_correct(
        self,
        info: RmaInfo,
        id: str,
        input: RmaOrderCorrectionInput,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(id, "id")
        changes = input.to_changes()
        with ctx.uow.dry_run(dry_run):
            await rma_order_update.correct_rma_order(
                ctx.uow, ctx.authenticated, rma_id, changes, expected_version=expected_version
            )
        return await rma_payload(info, rma_id)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_submit(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.SUBMIT, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_accept(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.ACCEPT, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_reject(
        self,
        info: RmaInfo,
        id: str,
        reason: str | None = None,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        return await act(info, id, Action.REJECT, expected_version, dry_run, reason=reason_text(reason))

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_cancel(
        self,
        info: RmaInfo,
        id: str,
        reason: str | None = None,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        return await act(info, id, Action.CANCEL, expected_version, dry_run, reason=reason_text(reason))

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_hold(
        self,
        info: RmaInfo,
        id: str,
        reason: str | None = None,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        return await act(info, id, Action.HOLD, expected_version, dry_run, reason=reason_text(reason))

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_resume(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.RESUME, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_flag_anomaly(
        self, info: RmaInfo, id: str, reason: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        text(reason, "reason", 2000, required=True)
        return await act(info, id, Action.FLAG_ANOMALY, expected_version, dry_run, reason=reason)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_resolve_anomaly(
        self,
        info: RmaInfo,
        id: str,
        comment: str | None = None,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        comment = reason_text(comment, "comment")
        return await act(info, id, Action.RESOLVE_ANOMALY, expected_version, dry_run, comment=comment)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_delete(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.DELETE, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_request_fulfillment(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.REQUEST_FULFILLMENT, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.PROCESS_RMA_ORDERS))
    async def rma_order_start_fulfillment(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.START_FULFILLMENT, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.PROCESS_RMA_ORDERS))
    async def rma_order_complete_processing(
        self, info: RmaInfo, id: str, expected_version: Version = None, dry_run: DryRun = False
    ) -> RmaOrderType:
        return await act(info, id, Action.COMPLETE_PROCESSING, expected_version, dry_run)

    @strawberry.mutation(**scoped(access.PROCESS_RMA_ORDERS))
    async def rma_order_update_delivery_status(
        self,
        info: RmaInfo,
        id: str,
        status: RmaOrderDeliveryStatus,
        expected_version: Version = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        return await act(info, id, Action.UPDATE_DELIVERY_STATUS, expected_version, dry_run, status=status)
