"""The dashboard's figures over GraphQL (staff with view_rma_orders; a customer is refused)."""

from datetime import datetime

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderProcessingStatus, RmaOrderReturnReason
from rma_graphql.api.inputs import _utc, parse_uuid
from rma_graphql.api.permissions import scoped
from rma_graphql.domain import access
from rma_graphql.service import statistics


@strawberry.type(description="RMA orders created on a UTC day in one processing status.")
class RmaDayCount:
    day: str = strawberry.field(description="YYYY-MM-DD, in UTC.")
    processing_status: RmaOrderProcessingStatus
    count: int


@strawberry.type(description="How many lines, and units, were returned for a reason.")
class RmaReasonCount:
    reason: RmaOrderReturnReason
    lines: int
    units: int


@strawberry.type(
    description="Units of a product sold by orders placed in the window, and returned by RMA orders "
    "created in it."
)
class RmaProductReturnRate:
    product_id: str
    name: str
    sold_units: int
    returned_units: int
    rate: float | None = strawberry.field(
        description="Returned units per unit sold; null when none was sold."
    )


@strawberry.type(description="Refunds or vouchers paid in one currency.")
class RmaResolutionTotal:
    type: str = strawberry.field(description="REFUND or VOUCHER.")
    currency: str
    count: int
    amount: float
    average_hours_to_payment: float | None = strawberry.field(
        description="Mean hours from the return's request (its creation) to the payment."
    )


@strawberry.type(description="The dashboard's figures over the RMA orders created in a window.")
class RmaStatistics:
    since: datetime
    until: datetime
    returns_per_day: list[RmaDayCount]
    top_reasons: list[RmaReasonCount]
    return_rate_by_product: list[RmaProductReturnRate]
    paid_resolutions: list[RmaResolutionTotal]


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="Figures over the RMA orders created from `since` (default: 30 days before `until`) to "
        "`until` (default: now), at most 366 days, of one location or all; computed by the database. "
        "Staff only.",
        **scoped(access.VIEW_RMA_ORDERS),
    )
    async def rma_statistics(
        self,
        info: RmaInfo,
        since: datetime | None = None,
        until: datetime | None = None,
        location_id: str | None = None,
    ) -> RmaStatistics:
        ctx = context_of(info)
        location = parse_uuid(location_id, "locationId") if location_id is not None else None
        over = statistics.window(ctx.authenticated, _utc(since, "since"), _utc(until, "until"), location)
        found = await statistics.statistics(ctx.uow, over)
        return RmaStatistics(
            since=found.since,
            until=found.until,
            returns_per_day=[
                RmaDayCount(
                    day=d.day, processing_status=RmaOrderProcessingStatus(d.processing_status), count=d.count
                )
                for d in found.per_day
            ],
            top_reasons=[
                RmaReasonCount(reason=RmaOrderReturnReason(r.reason), lines=r.lines, units=r.units)
                for r in found.reasons
            ],
            return_rate_by_product=[
                RmaProductReturnRate(
                    product_id=p.product_id,
                    name=p.name,
                    sold_units=p.sold,
                    returned_units=p.returned,
                    rate=p.rate,
                )
                for p in found.products
            ],
            paid_resolutions=[
                RmaResolutionTotal(
                    type=r.type,
                    currency=r.currency,
                    count=r.count,
                    amount=r.amount,
                    average_hours_to_payment=r.average_hours,
                )
                for r in found.resolutions
            ],
        )
