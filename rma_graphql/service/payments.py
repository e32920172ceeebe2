"""Paying financial resolutions: the provider interface and its two providers.

A resolution names its provider: ``manual`` pays refunds (the money moves outside, the
provider records the external payment reference) and ``voucher`` pays vouchers (it issues
a unique, unguessable code, redeemable once before it expires). A provider runs in the
RMA order's transaction, inside a savepoint: when it fails, what it wrote is undone and
the resolution is recorded as FAILED with the provider's reason.
"""

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from rma_graphql.db import rma_reads
from rma_graphql.db.engine import Connection
from rma_graphql.db.voucher_repository import VoucherRepository
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.rma_order import RecordedEvent, RmaOrder


class PaymentFailedError(Exception):
    """The provider could not pay; ``reason`` is recorded on the resolution."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Payment:
    organization_id: str
    rma_order_id: str
    resolution_id: str
    amount: int
    currency: str
    # The external payment reference the caller gives, if any.
    reference: str | None
    # How many days a voucher stays redeemable (the location's configuration).
    voucher_validity_days: int
    now: datetime


class PaymentProvider(Protocol):
    name: str
    # Whether the caller may give the payment's reference (else the provider makes it).
    takes_reference: bool

    async def pay(self, conn: Connection, payment: Payment) -> str:
        """Pay, and return the reference to record; raise ``PaymentFailedError`` when it cannot."""
        ...


class ManualProvider:
    """A refund paid outside the server (bank transfer, the shop's payment back office).

    It records the external payment reference; one reference pays one resolution only, so
    a reference already recorded on another executed resolution fails the execution.
    Without a reference, the resolution is recorded as paid outside under its own id.
    """

    name = "manual"
    takes_reference = True

    async def pay(self, conn: Connection, payment: Payment) -> str:
        if payment.reference is None:
            return f"manual:{payment.resolution_id}"
        other = await rma_reads.resolution_paid_with(
            conn, payment.organization_id, payment.reference, other_than=payment.resolution_id
        )
        if other is not None:
            raise PaymentFailedError(
                f"Payment reference {payment.reference!r} is already recorded on resolution {other}."
            )
        return payment.reference


# Crockford's base 32: no I, L, O or U, so a code read aloud or typed is not misread.
VOUCHER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VOUCHER_GROUPS = 5  # 5 groups of 4 characters: 100 random bits


def voucher_code() -> str:
    groups = ("".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(4)) for _ in range(VOUCHER_GROUPS))
    return "V-" + "-".join(groups)


class VoucherProvider:
    """Store credit: issues a voucher for the amount, in the currency, until it expires."""

    name = "voucher"
    takes_reference = False

    async def pay(self, conn: Connection, payment: Payment) -> str:
        code = voucher_code()
        await VoucherRepository(conn, payment.organization_id).add(
            {
                "id": str(uuid.uuid4()),
                "code": code,
                "amount": payment.amount,
                "currency": payment.currency,
                "expires_at": payment.now + timedelta(days=payment.voucher_validity_days),
                "rma_order_id": payment.rma_order_id,
                "resolution_id": payment.resolution_id,
                "created_at": payment.now,
            }
        )
        return code


PROVIDERS: dict[str, PaymentProvider] = {p.name: p for p in (ManualProvider(), VoucherProvider())}


async def execute(
    conn: Connection,
    row: Mapping[Any, Any],
    rma: RmaOrder,
    resolution_id: str,
    reference: str | None,
    now: datetime,
    *,
    system: bool = False,
) -> list[RecordedEvent]:
    """Pay one resolution of ``rma`` through its provider and record the outcome on it.

    Refused (nothing paid, nothing changed) unless the machines allow the payment now.
    """
    rma.check_execution(resolution_id)
    resolution = rma.resolution(resolution_id)
    provider = PROVIDERS[resolution.provider]
    if reference is not None and not provider.takes_reference:
        # The caller's mistake, not the provider's failure: refused, and nothing recorded.
        raise BadUserInputError(
            f"A {resolution.type.value.lower()} resolution's reference is generated when it is paid; "
            "execute it without a reference.",
            "reference",
        )
    payment = Payment(
        organization_id=row["organization_id"],
        rma_order_id=rma.id,
        resolution_id=resolution.id,
        amount=resolution.amount,
        currency=resolution.currency,
        reference=reference,
        voucher_validity_days=row["voucher_validity_days"],
        now=now,
    )
    try:
        async with conn.begin_nested():
            paid = await provider.pay(conn, payment)
    except PaymentFailedError as failure:
        return rma.perform(
            Action.FAIL_FINANCIAL_RESOLUTION,
            now=now,
            resolution_id=resolution_id,
            reason=failure.reason,
            system=system,
        )
    return rma.perform(
        Action.EXECUTE_FINANCIAL_RESOLUTION,
        now=now,
        resolution_id=resolution_id,
        reference=paid,
        system=system,
    )
