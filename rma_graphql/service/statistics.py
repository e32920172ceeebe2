"""The back office's dashboard: returns per day by processing status, the reasons given, the
return rate per product, what refunds and vouchers paid and how long a refund took. Each
figure is one aggregate query over a window of creation dates; staff only."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rma_graphql.db import statistics as queries
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.errors import BadUserInputError, ForbiddenError
from rma_graphql.service.currency import to_major
from rma_graphql.service.unit_of_work import UnitOfWork

DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP = 20


@dataclass(frozen=True)
class DayCount:
    day: str
    processing_status: str
    count: int


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    lines: int
    units: int


@dataclass(frozen=True)
class ProductRate:
    product_id: str
    name: str
    sold: int
    returned: int
    # Returned units per unit sold; None when none was sold in the window.
    rate: float | None


@dataclass(frozen=True)
class ResolutionTotal:
    type: str
    currency: str
    count: int
    amount: float
    # Mean hours from the return's request to the payment.
    average_hours: float | None


@dataclass(frozen=True)
class Statistics:
    since: datetime
    until: datetime
    per_day: list[DayCount]
    reasons: list[ReasonCount]
    products: list[ProductRate]
    resolutions: list[ResolutionTotal]


def window(
    caller: Caller, since: datetime | None, until: datetime | None, location_id: str | None
) -> queries.Window:
    """The creation dates the figures cover: the 30 days up to now unless given, at most 366."""
    if caller.role is Role.CUSTOMER:
        raise ForbiddenError("A customer may not read the organization's statistics.")
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise BadUserInputError("since must come before until.", "since")
    if end - start > timedelta(days=MAX_DAYS):
        raise BadUserInputError(f"A window spans at most {MAX_DAYS} days.", "since")
    return queries.Window(caller.organization_id, start, end, location_id)


async def statistics(uow: UnitOfWork, over: queries.Window) -> Statistics:
    async with uow.read() as conn:
        per_day = await queries.per_day(conn, over)
        reasons = await queries.reasons(conn, over, TOP)
        products = await queries.product_rates(conn, over, TOP)
        paid = await queries.resolutions(conn, over)
    return Statistics(
        since=over.since,
        until=over.until,
        per_day=[DayCount(r["day"], r["processing_status"], int(r["count"])) for r in per_day],
        reasons=[ReasonCount(r["reason"], int(r["lines"]), int(r["units"])) for r in reasons],
        products=[
            ProductRate(
                r["id"],
                r["name"],
                int(r["sold"]),
                int(r["returned"]),
                round(int(r["returned"]) / int(r["sold"]), 4) if r["sold"] else None,
            )
            for r in products
        ],
        resolutions=[
            ResolutionTotal(
                r["type"],
                r["currency"],
                int(r["count"]),
                to_major(int(r["amount"]), r["currency"]),
                None if r["seconds"] is None else round(float(r["seconds"]) / 3600, 2),
            )
            for r in paid
        ],
    )
