"""Financial resolutions (refunds and vouchers) of RMA orders, and redeeming vouchers.

Every change goes through the RMA order (a new version and its events). Executing locks
the RMA order's row first, so two executions of one resolution queue: the first pays, the
second finds it EXECUTED and is refused. A voucher is redeemed by one conditional update,
so of two redemptions at once exactly one succeeds.
"""

from datetime import UTC, datetime

from rma_graphql.db.voucher_repository import VoucherRepository
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import FinancialResolutionType
from rma_graphql.service import payments
from rma_graphql.service.currency import to_minor
from rma_graphql.service.records import VoucherRecord, record
from rma_graphql.service.rma_orders import owner_of
from rma_graphql.service.unit_of_work import UnitOfWork


async def create_resolution(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    resolution_type: FinancialResolutionType,
    amount: float | None,
    *,
    expected_version: int | None = None,
) -> str:
    """A PENDING resolution for ``amount`` (by default what remains due); returns its id."""
    action = Action.CREATE_FINANCIAL_RESOLUTION
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, action, expected_version=expected_version)
        minor = None if amount is None else to_minor(amount, rma.currency, "input.amount")
        events = rma.perform(action, now=change.now, type=resolution_type, amount=minor)
        await change.rma_orders.save(rma, events)
    return rma.financial_resolutions[-1].id


async def execute_resolution(
    uow: UnitOfWork,
    caller: Caller,
    resolution_id: str,
    reference: str | None,
    *,
    expected_version: int | None = None,
) -> str:
    """Pay a PENDING (or retry a FAILED) resolution through its provider; returns the RMA's id.

    The RMA order's row is locked from the first read: two payments of one resolution queue
    instead of both reaching the provider."""
    rma_id = await owner_of(uow, caller, "financial_resolutions", resolution_id, "Financial resolution")
    action = Action.EXECUTE_FINANCIAL_RESOLUTION
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, action, expected_version=expected_version, lock=True)
        row = change.rma_orders.row(rma_id)
        events = await payments.execute(change.conn, row, rma, resolution_id, reference, change.now)
        await change.rma_orders.save(rma, events)
    return rma_id


async def reject_resolution(
    uow: UnitOfWork,
    caller: Caller,
    resolution_id: str,
    reason: str | None,
    *,
    expected_version: int | None = None,
) -> str:
    rma_id = await owner_of(uow, caller, "financial_resolutions", resolution_id, "Financial resolution")
    action = Action.REJECT_FINANCIAL_RESOLUTION
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, action, expected_version=expected_version)
        events = rma.perform(action, now=change.now, resolution_id=resolution_id, reason=reason)
        await change.rma_orders.save(rma, events)
    return rma_id


# Vouchers


async def voucher_row(uow: UnitOfWork, caller: Caller, code: str) -> VoucherRecord | None:
    async with uow.read() as conn:
        row = await VoucherRepository(conn, caller.organization_id).by_code(code.strip().upper())
    return None if row is None else record(VoucherRecord, row)


def _refusal(row: VoucherRecord, now: datetime) -> BadUserInputError | None:
    if row.redeemed_at is not None:
        return BadUserInputError(
            f"The voucher was already redeemed on {row.redeemed_at.isoformat()}.",
            "code",
            reason="VOUCHER_ALREADY_REDEEMED",
        )
    if row.expires_at <= now:
        return BadUserInputError(
            f"The voucher expired on {row.expires_at.isoformat()}.", "code", reason="VOUCHER_EXPIRED"
        )
    return None


async def redeem_voucher(uow: UnitOfWork, caller: Caller, code: str, amount: float) -> str:
    """Redeem a voucher once, for at most its amount; returns its code."""
    now = datetime.now(UTC)
    row = await voucher_row(uow, caller, code)
    if row is None:
        raise BadUserInputError("No voucher has this code.", "code", reason="VOUCHER_NOT_FOUND")
    refusal = _refusal(row, now)
    if refusal is not None:
        raise refusal
    minor = to_minor(amount, row.currency, "amount")
    if not 0 < minor <= row.amount:
        raise BadUserInputError(
            f"The amount must be above 0 and at most the voucher's {row.amount} minor units.",
            "amount",
            reason="AMOUNT_EXCEEDS_VOUCHER",
        )
    async with uow.transaction() as conn:
        redeemed = await VoucherRepository(conn, caller.organization_id).redeem(row.id, minor, now)
    if not redeemed:
        current = await voucher_row(uow, caller, row.code)
        assert current is not None
        raise _refusal(current, now) or BadUserInputError("The voucher cannot be redeemed.", "code")
    return str(row.code)
