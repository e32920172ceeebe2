"""The RMA order as GraphQL shows it: its fields, its children, what may be done to it,
and the pages of RMA orders."""

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from rma_graphql.api.context import RmaInfo, context_of, selects
from rma_graphql.api.enums import (
    RmaOrderDeliveryStatus,
    RmaOrderExpectedResolution,
    RmaOrderFinancialStatus,
    RmaOrderFulfillmentStatus,
    RmaOrderProcessingStatus,
    member,
)
from rma_graphql.api.loaders import Loaders
from rma_graphql.api.permissions import scoped
from rma_graphql.domain import access
from rma_graphql.domain import statuses as s
from rma_graphql.domain.eligibility import ReturnPolicy
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.service import queries, slips
from rma_graphql.service.currency import to_major
from rma_graphql.service.events import revisions_from, written_revision
from rma_graphql.service.records import (
    RmaFinancialResolutionRecord,
    RmaLinkedOrderRecord,
    RmaOrderLineRecord,
    RmaOrderRecord,
    RmaOrderVersion,
    RmaShipmentEventRecord,
)
from rma_graphql.service.unit_of_work import written_version

if TYPE_CHECKING:
    from rma_graphql.api.catalog import Order
    from rma_graphql.api.custom_states import RmaCustomState


from rma_graphql.api.history_types import RmaComment, RmaOrderEvent
from rma_graphql.api.inputs import RmaOrderFilterInput, parse_uuid, text
from rma_graphql.api.money_types import RmaFinancialResolutionRequest
from rma_graphql.api.types import (
    Location,
    Organization,
    PageInfo,
    RmaContact,
    RmaOrderAction,
    RmaOrderLine,
    RmaOrderLinkedOrder,
    RmaReturnPolicy,
    RmaShipment,
)


@strawberry.type
class RmaOrderType:
    id: strawberry.ID
    configuration_id: str
    external_id: str | None
    external_reference: str | None
    return_number: int
    return_reference: str
    currency: str | None
    apply_return_fee: bool

    # The contacts and the amount are made when selected (most lists select none of them).
    def _delivery_contact(self) -> RmaContact:
        contact = RmaContact.from_json(self.row.delivery_contact)
        assert contact is not None
        return contact

    def _sender(self) -> RmaContact:
        contact = RmaContact.from_json(self.row.sender)
        assert contact is not None
        return contact

    def _owner(self) -> RmaContact | None:
        return RmaContact.from_json(self.row.owner)

    def _billing_contact(self) -> RmaContact | None:
        return RmaContact.from_json(self.row.billing_contact)

    def _retained_amount_for_shipping(self) -> float:
        return to_major(self.row.retained_amount_for_shipping, self.row.currency)

    delivery_contact: RmaContact = strawberry.field(resolver=_delivery_contact)
    sender: RmaContact = strawberry.field(resolver=_sender)
    owner: RmaContact | None = strawberry.field(resolver=_owner)
    billing_contact: RmaContact | None = strawberry.field(resolver=_billing_contact)
    received_at: datetime
    issued_at: datetime
    expected_resolution: RmaOrderExpectedResolution
    processing_status: RmaOrderProcessingStatus
    delivery_status: RmaOrderDeliveryStatus | None
    financial_status: RmaOrderFinancialStatus | None
    fulfillment_status: RmaOrderFulfillmentStatus | None
    comment: str | None
    auto_generate_financial_resolution: bool
    auto_execute_financial_resolution: bool
    retained_amount_for_shipping: float = strawberry.field(resolver=_retained_amount_for_shipping)
    meta: JSON | None
    version: int
    created_at: datetime
    updated_at: datetime
    fulfillment_requested_at: datetime | None
    tp_app_id: str | None
    row: strawberry.Private[RmaOrderRecord]
    # The RMA order as of the row's version, when it is shown as of a past version.
    revision: strawberry.Private[RmaOrderVersion | None] = None
    # Loaders of its own: a subscription's context lives as long as its websocket, so
    # each event it sends gets fresh ones instead of the connection's stale caches.
    own_loaders: strawberry.Private[Loaders | None] = None
    # The aggregate, built once for every field derived from it (amounts, availableActions).
    aggregate_task: strawberry.Private["asyncio.Future[RmaOrder] | None"] = None
    # The lines, when the resolver that made this RMA order read them with its siblings'.
    fetched_lines: strawberry.Private[Sequence[RmaOrderLineRecord] | None] = None

    @classmethod
    def from_revision(cls, revision: RmaOrderVersion, loaders: Loaders) -> "RmaOrderType":
        """The RMA order exactly as of one version."""
        rma = cls.from_row(revision.row)
        rma.revision = revision
        rma.own_loaders = loaders
        return rma

    def _loaders(self, info: RmaInfo) -> Loaders:
        return self.own_loaders or context_of(info).loaders

    # The children a revision keeps come from it; the others from the current rows.

    async def _lines(self, info: RmaInfo) -> Sequence[RmaOrderLineRecord]:
        if self.fetched_lines is not None:
            return self.fetched_lines
        if self.revision is not None:
            return self.revision.lines
        return await self._loaders(info).lines.load(self.row.id)

    async def _linked_orders(self, info: RmaInfo) -> Sequence[RmaLinkedOrderRecord]:
        if self.revision is not None:
            return self.revision.linked_orders
        return await self._loaders(info).linked_orders.load(self.row.id)

    async def _resolutions(self, info: RmaInfo) -> Sequence[RmaFinancialResolutionRecord]:
        if self.revision is not None:
            return self.revision.financial_resolutions
        return await self._loaders(info).financial_resolutions.load(self.row.id)

    @classmethod
    def from_row(cls, row: RmaOrderRecord) -> "RmaOrderType":
        return cls(
            id=strawberry.ID(row.id),
            configuration_id=row.configuration_id,
            external_id=row.external_id,
            external_reference=row.external_reference,
            return_number=row.return_number,
            return_reference=row.return_reference,
            currency=row.currency,
            apply_return_fee=row.apply_return_fee,
            received_at=row.received_at,
            issued_at=row.issued_at,
            expected_resolution=member(s.ExpectedResolution, row.expected_resolution),
            processing_status=member(s.ProcessingStatus, row.processing_status),
            delivery_status=member(s.DeliveryStatus, row.delivery_status),
            financial_status=member(s.FinancialStatus, row.financial_status),
            fulfillment_status=member(s.FulfillmentStatus, row.fulfillment_status),
            comment=row.comment,
            auto_generate_financial_resolution=row.auto_generate_financial_resolution,
            auto_execute_financial_resolution=row.auto_execute_financial_resolution,
            meta=row.meta,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            fulfillment_requested_at=row.fulfillment_requested_at,
            tp_app_id=row.tp_app_id,
            row=row,
        )

    @strawberry.field(
        description="The printable return slip (PDF): the URL given at creation, else a signed link to "
        "the slip this server renders, valid at least 30 days (until the end of a UTC day)."
    )
    def return_slip_url(self, info: RmaInfo) -> str | None:
        if self.row.return_slip_url is not None:
            return str(self.row.return_slip_url)
        ctx = context_of(info)
        if ctx.accounts is None or ctx.request is None:
            return None
        base = str(ctx.request.base_url).rstrip("/")
        if base.startswith("ws"):
            base = "http" + base[2:]
        return base + slips.signed_path(ctx.accounts, self.row.id)

    @strawberry.field
    async def organization(self, info: RmaInfo) -> Organization:
        row = await self._loaders(info).organizations.load(self.row.organization_id)
        assert row is not None
        return Organization.from_row(row)

    @strawberry.field(description="The organization's custom state it is in, if any.")
    async def custom_state(
        self, info: RmaInfo
    ) -> Annotated["RmaCustomState", strawberry.lazy("rma_graphql.api.custom_states")] | None:
        code = self.row.custom_state
        if code is None:
            return None
        # Imported here: that module imports this one.
        from rma_graphql.api.custom_states import RmaCustomState

        ctx = context_of(info)
        found = (await ctx.loaders.custom_states.load(ctx.authenticated.organization_id)).get(code)
        return RmaCustomState.from_row(found) if found is not None else None

    @strawberry.field
    async def location(self, info: RmaInfo) -> Location:
        row = await self._loaders(info).locations.load(self.row.location_id)
        assert row is not None
        return Location.from_row(row)

    @strawberry.field(graphql_type=list[RmaOrderLine])
    def lines(self, info: RmaInfo) -> list[RmaOrderLine] | Awaitable[list[RmaOrderLine]]:
        # Answered at once when the lines are at hand (a revision's, or a page's, read for
        # all its RMA orders together by fetch_lines): no coroutine per RMA order.
        rows = self.revision.lines if self.revision is not None else self.fetched_lines
        if rows is not None:
            return self._line_types(rows)
        return self._lines_later(info)

    async def _lines_later(self, info: RmaInfo) -> list[RmaOrderLine]:
        return self._line_types(await self._lines(info))

    def _line_types(self, rows: Sequence[RmaOrderLineRecord]) -> list[RmaOrderLine]:
        return [RmaOrderLine.from_row(row, self.row.currency, self._last_sequence) for row in rows]

    async def _aggregate(self, info: RmaInfo) -> RmaOrder:
        """The RMA order's aggregate, built once per shown RMA order: the fields derived
        from it resolve concurrently and share it."""
        if self.aggregate_task is None:
            self.aggregate_task = asyncio.ensure_future(self._build_aggregate(info))
        return await self.aggregate_task

    async def _build_aggregate(self, info: RmaInfo) -> RmaOrder:
        lines = await self._lines(info)
        resolutions = await self._resolutions(info)
        return queries.rma_from_records(self.row, lines, resolutions)

    @strawberry.field(
        description="What the customer is owed: the accepted units at their price (every unit until "
        "something is received), less the retained shipping and the return fee, plus the original "
        "shipping when the configuration refunds it; never below 0."
    )
    async def amount_due(self, info: RmaInfo) -> float:
        return to_major((await self._aggregate(info)).amount_due(), self.row.currency)

    @strawberry.field(description="The total of the EXECUTED financial resolutions.")
    async def executed_amount(self, info: RmaInfo) -> float:
        return to_major((await self._aggregate(info)).executed_total(), self.row.currency)

    @strawberry.field(description="What no executed or open (PENDING, FAILED) resolution covers yet.")
    async def remaining_due(self, info: RmaInfo) -> float:
        return to_major((await self._aggregate(info)).remaining_due(), self.row.currency)

    @strawberry.field(
        description="Sales orders created to replace the returned goods.", **scoped(access.VIEW_ORDERS)
    )
    async def replacement_orders(
        self, info: RmaInfo
    ) -> list[Annotated["Order", strawberry.lazy("rma_graphql.api.catalog")]]:
        from rma_graphql.api.catalog import Order  # catalog imports this module

        rows = await self._loaders(info).replacement_orders.load(self.row.id)
        return [Order.from_row(row) for row in rows if row.created_at <= self.row.updated_at]

    @strawberry.field
    async def linked_orders(self, info: RmaInfo) -> list[RmaOrderLinkedOrder | None] | None:
        rows = await self._linked_orders(info)
        return [
            RmaOrderLinkedOrder(
                order_id=row.order_id,
                external_reference=row.external_reference,
                organization_id=self.row.organization_id,
            )
            for row in rows
        ]

    @strawberry.field(description="Return shipments, oldest first, each with its scans.")
    async def shipments(self, info: RmaInfo) -> list[RmaShipment | None] | None:
        loaders = self._loaders(info)
        rma_id = self.row.id
        # As of its version, an RMA order has the shipments and scans recorded up to it.
        shipment_rows = [r for r in await loaders.shipments.load(rma_id) if r.sequence <= self._last_sequence]
        if not shipment_rows:
            return []
        events: dict[str, list[RmaShipmentEventRecord]] = {row.id: [] for row in shipment_rows}
        for event in await loaders.shipment_events.load(rma_id):
            if event.sequence <= self._last_sequence and event.shipment_id in events:
                events[event.shipment_id].append(event)
        return [RmaShipment.from_rows(row, events[row.id]) for row in shipment_rows]

    @strawberry.field(description="The return policy in force when the RMA order was created.")
    def return_policy(self) -> RmaReturnPolicy | None:
        policy = self.row.policy
        return RmaReturnPolicy.from_policy(ReturnPolicy.from_json(policy)) if policy is not None else None

    @strawberry.field(description="Why staff took the return after the authorization delay, if they did.")
    def return_window_override_reason(self) -> str | None:
        return self.row.return_window_override_reason

    @strawberry.field
    async def financial_resolutions(self, info: RmaInfo) -> list[RmaFinancialResolutionRequest | None] | None:
        rows = await self._resolutions(info)
        return [RmaFinancialResolutionRequest.from_row(row) for row in rows]

    @strawberry.field(description="The RMA order's comments, oldest first.")
    async def comments(self, info: RmaInfo) -> list[RmaComment]:
        rows = await self._loaders(info).comments.load(self.row.id)
        # A customer never sees the staff's INTERNAL comments.
        public_only = context_of(info).authenticated.customer_id is not None
        return [
            RmaComment.from_row(row)
            for row in rows
            if row.sequence <= self._last_sequence
            and not (public_only and row.visibility != s.CommentVisibility.CUSTOMER.value)
        ]

    @property
    def _last_sequence(self) -> int:
        # As of its version, an RMA order has the events (and comments) recorded up to it.
        return int(self.row.last_event_sequence)

    @strawberry.field(description="The RMA order's events in sequence order: its audit trail.")
    async def history(
        self, info: RmaInfo, after_sequence: int | None = None, first: int = 100
    ) -> list[RmaOrderEvent]:
        if not 0 <= first <= queries.MAX_HISTORY_PAGE:
            raise BadUserInputError(f"first must be between 0 and {queries.MAX_HISTORY_PAGE}.", "first")
        public_only = context_of(info).authenticated.customer_id is not None
        key = (self.row.id, self._last_sequence, after_sequence, first, public_only)
        return [RmaOrderEvent.from_row(row) for row in await self._loaders(info).history.load(key)]

    @strawberry.field(
        description="Every action, allowed or not, with the reason when it is not: the state machines, "
        "the money and warehouse rules, then the caller (its scopes; a customer's own actions only)."
    )
    async def available_actions(self, info: RmaInfo) -> list[RmaOrderAction]:
        rma = await self._aggregate(info)
        caller = context_of(info).authenticated
        actions = []
        for action, allowed, reason in rma.available_actions():
            # What the machines allow, the caller may still not do (its scopes, its role).
            refused = caller.refusal(action, rma.processing_status) if allowed else None
            if refused is not None:
                allowed, reason = False, refused
            actions.append(RmaOrderAction(action=action, allowed=allowed, reason=reason))
        return actions


@strawberry.type
class RmaOrderEdge:
    cursor: str
    node: RmaOrderType


@strawberry.type
class RmaOrderConnection:
    def _edges(self) -> list[RmaOrderEdge]:
        # Made when selected: most clients read nodes, and a cursor costs an encoding.
        return [RmaOrderEdge(cursor=c, node=n) for c, n in zip(self.page.cursors, self.nodes, strict=True)]

    edges: list[RmaOrderEdge] = strawberry.field(resolver=_edges)
    nodes: list[RmaOrderType]
    page_info: PageInfo
    # Counted only when a client selects totalCount or totalCountEstimate.
    matches: strawberry.Private[queries.RmaOrderMatches]
    page: strawberry.Private[queries.Page[RmaOrderRecord]]

    @strawberry.field(description="How many RMA orders match the filter, exactly.")
    async def total_count(self) -> int:
        return await self.matches.exact()

    @strawberry.field(
        description="How many RMA orders match the filter, as PostgreSQL's planner estimates it from "
        "its statistics: as cheap at a million RMA orders as at ten, close once the statistics are "
        "fresh (ANALYZE). On the embedded SQLite database it is the exact count."
    )
    async def total_count_estimate(self) -> int:
        return await self.matches.estimate()


async def fetch_lines(info: RmaInfo, rmas: Sequence[RmaOrderType], *paths: tuple[str, ...]) -> None:
    """When the selection reaches the RMA orders' lines by one of ``paths``: read them all in
    one statement now, so that no RMA order's ``lines`` waits on a loader of its own."""
    if rmas and selects(info, *paths):
        found = await queries.children_by_rma(
            context_of(info).uow, "lines", RmaOrderLineRecord, [rma.row.id for rma in rmas]
        )
        for rma, lines in zip(rmas, found, strict=True):
            rma.fetched_lines = lines


async def rma_payload(info: RmaInfo, rma_id: str) -> RmaOrderType:
    """The RMA order as the mutation committed it: as of the version it wrote (kept as a
    revision), whatever concurrent changes committed since."""
    ctx = context_of(info)
    version = written_version(rma_id)
    if version is not None:
        revision = written_revision(rma_id)
        if revision is None:
            revision = (await revisions_from(ctx.uow, rma_id, version, 1)).get(version)
        if revision is not None:
            return RmaOrderType.from_revision(revision, ctx.loaders)
    row = await queries.rma_order_row(ctx.uow, ctx.authenticated, rma_id)
    if row is None:
        raise NotFoundError(f"RMA order {rma_id} not found.", rma_id)
    return RmaOrderType.from_row(row)


def rma_order_criteria(filter: RmaOrderFilterInput | None) -> queries.RmaOrderFilter:
    """What a list's filter argument asks for (refusing a search text no column takes)."""
    f = filter or RmaOrderFilterInput()
    if f.search is not None:
        text(f.search, "filter.search")
    return queries.RmaOrderFilter(
        processing_status=[v.value for v in f.processing_status] if f.processing_status else None,
        delivery_status=[v.value for v in f.delivery_status] if f.delivery_status else None,
        financial_status=[v.value for v in f.financial_status] if f.financial_status else None,
        fulfillment_status=[v.value for v in f.fulfillment_status] if f.fulfillment_status else None,
        expected_resolution=[v.value for v in f.expected_resolution] if f.expected_resolution else None,
        custom_state=list(f.custom_state) if f.custom_state else None,
        location_id=parse_uuid(f.location_id, "filter.locationId") if f.location_id else None,
        created_after=f.created_after,
        created_before=f.created_before,
        search=f.search,
        include_deleted=f.include_deleted,
    )
