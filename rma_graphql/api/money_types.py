"""Money as GraphQL shows it: financial resolutions and vouchers."""

from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import (
    RmaFinancialResolutionStatus,
    RmaFinancialResolutionType,
)
from rma_graphql.domain import statuses as s
from rma_graphql.service import queries
from rma_graphql.service.currency import to_major
from rma_graphql.service.records import RmaFinancialResolutionRecord, VoucherRecord

if TYPE_CHECKING:
    from rma_graphql.api.rma_order_type import RmaOrderType


@strawberry.type
class RmaFinancialResolutionRequest:
    id: strawberry.ID
    type: RmaFinancialResolutionType
    amount: float
    currency: str
    status: RmaFinancialResolutionStatus
    created_at: datetime
    executed_at: datetime | None
    reference: str | None = strawberry.field(
        description="The payment reference the provider recorded; a voucher's code for a VOUCHER."
    )
    failure_reason: str | None = strawberry.field(
        description="Why the last execution failed (FAILED), or why it was rejected (REJECTED)."
    )
    provider: str = strawberry.field(description="The payment provider: manual (refunds) or voucher.")
    row: strawberry.Private[RmaFinancialResolutionRecord]

    @strawberry.field(
        description="The RMA order the resolution belongs to: as it is now, or in a mutation's answer, "
        "as of the change it made."
    )
    async def rma_order(
        self, info: RmaInfo
    ) -> Annotated["RmaOrderType", strawberry.lazy("rma_graphql.api.rma_order_type")]:
        from rma_graphql.api.rma_order_type import rma_payload

        return await rma_payload(info, self.row.rma_order_id)

    @strawberry.field(description="The voucher a VOUCHER resolution issued, once executed.")
    async def voucher(self, info: RmaInfo) -> "Voucher | None":
        if (
            self.type is not s.FinancialResolutionType.VOUCHER
            or self.status is not s.FinancialResolutionStatus.EXECUTED
        ):
            return None
        row = await queries.voucher_by_resolution(context_of(info).uow, str(self.id))
        return Voucher.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: RmaFinancialResolutionRecord) -> "RmaFinancialResolutionRequest":
        return cls(
            id=strawberry.ID(row.id),
            type=s.FinancialResolutionType(row.type),
            amount=to_major(row.amount, row.currency),
            currency=row.currency,
            status=s.FinancialResolutionStatus(row.status),
            created_at=row.created_at,
            executed_at=row.executed_at,
            reference=row.reference,
            failure_reason=row.failure_reason,
            provider=row.provider,
            row=row,
        )


@strawberry.enum
class VoucherStatus(Enum):
    ACTIVE = "ACTIVE"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


@strawberry.type
class Voucher:
    """Store credit issued by a VOUCHER resolution: redeemable once, before it expires."""

    id: strawberry.ID
    code: str
    amount: float
    currency: str
    expires_at: datetime
    redeemed_at: datetime | None
    redeemed_amount: float | None
    rma_order_id: str
    created_at: datetime

    @strawberry.field
    def status(self) -> VoucherStatus:
        if self.redeemed_at is not None:
            return VoucherStatus.REDEEMED
        return VoucherStatus.EXPIRED if self.expires_at <= datetime.now(UTC) else VoucherStatus.ACTIVE

    @classmethod
    def from_row(cls, row: VoucherRecord) -> "Voucher":
        currency = row.currency
        redeemed = row.redeemed_amount
        return cls(
            id=strawberry.ID(row.id),
            code=row.code,
            amount=to_major(row.amount, currency),
            currency=currency,
            expires_at=row.expires_at,
            redeemed_at=row.redeemed_at,
            redeemed_amount=None if redeemed is None else to_major(redeemed, currency),
            rma_order_id=row.rma_order_id,
            created_at=row.created_at,
        )
