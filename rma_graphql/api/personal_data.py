"""GraphQL for personal data: customerErase, rmaOrderAnonymize and customerExport."""

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_order_type import RmaOrderType, rma_payload
from rma_graphql.domain import access
from rma_graphql.domain.errors import ForbiddenError
from rma_graphql.service import personal_data
from rma_graphql.service.uploads import Storage


@strawberry.type
class CustomerErasure:
    customer_id: str
    rma_order_ids: list[str] = strawberry.field(description="The RMA orders whose people were erased.")
    user_ids: list[str] = strawberry.field(description="The CUSTOMER users erased and deactivated.")


def _staff(info: RmaInfo, *also: str) -> Any:
    caller = context_of(info).authenticated
    if caller.customer_id is not None:
        raise ForbiddenError("A customer may not erase or export personal data.")
    for scope in also:
        if scope not in caller.scopes:
            raise ForbiddenError(f"Insufficient scope: {scope} required")
    return caller


def _storage(info: RmaInfo) -> Storage | None:
    uploads = getattr(context_of(info).request.app.state, "uploads", None)
    return None if uploads is None else cast(Storage, uploads.storage)


@strawberry.type
class PersonalDataMutation:
    @strawberry.mutation(
        description="Erase a catalog customer (right to erasure): its record, every CUSTOMER user linked to "
        "it (deactivated, their tokens ended), and the people of every RMA order it made, of its orders or "
        "sent from its email (each gets a new version and an ANONYMIZED event). Names, addresses, emails, "
        "phones and free text become `[erased]` wherever they were copied (events, revisions, comments, "
        "webhook and mail bodies, stored idempotent answers); uploaded pictures are deleted; amounts, SKUs "
        "and statuses stay. Staff with edit_customers and edit_rma_orders.",
        **scoped(access.EDIT_CUSTOMERS),
    )
    async def customer_erase(self, info: RmaInfo, id: str) -> CustomerErasure:
        ctx = context_of(info)
        caller = _staff(info, access.EDIT_RMA_ORDERS)
        erased = await personal_data.erase_customer(ctx.uow, caller, parse_uuid(id, "id"), _storage(info))
        if ctx.accounts is not None:
            for user_id in erased.user_ids:
                ctx.accounts.recheck_subject(user_id)
        return CustomerErasure(
            customer_id=erased.customer_id, rma_order_ids=erased.rma_order_ids, user_ids=erased.user_ids
        )

    @strawberry.mutation(
        description="Erase the people of one RMA order: its contacts, comment, meta and free text, and every "
        "copy of them, as customerErase does; a new version and an ANONYMIZED event. Staff only.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_order_anonymize(
        self, info: RmaInfo, id: str, expected_version: int | None = None
    ) -> RmaOrderType:
        ctx = context_of(info)
        caller = _staff(info)
        rma_id = parse_uuid(id, "id")
        await personal_data.anonymize_rma(
            ctx.uow, caller, rma_id, _storage(info), expected_version=expected_version
        )
        return await rma_payload(info, rma_id)


@strawberry.type
class PersonalDataQuery:
    @strawberry.field(
        description="Everything held about a catalog customer, as JSON (right of access): its record, its "
        "users (without password hashes), its orders and their lines, its RMA orders with their lines, "
        "events, comments, shipments, resolutions and inspections, and the mails sent to it. Staff with "
        "view_customers and view_rma_orders.",
        **scoped(access.VIEW_CUSTOMERS),
    )
    async def customer_export(self, info: RmaInfo, id: str) -> JSON:
        caller = _staff(info, access.VIEW_RMA_ORDERS)
        exported = await personal_data.export_customer(context_of(info).uow, caller, parse_uuid(id, "id"))
        return cast(JSON, exported)
