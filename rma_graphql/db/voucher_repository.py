"""Vouchers: issued when a VOUCHER resolution is paid, redeemed once."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import tables as t


class VoucherRepository:
    def __init__(self, conn: AsyncConnection, organization_id: str) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def add(self, values: Mapping[str, Any]) -> None:
        await self.conn.execute(insert(t.voucher).values(organization_id=self.organization_id, **values))

    async def by_code(self, code: str) -> Mapping[Any, Any] | None:
        result = await self.conn.execute(
            select(t.voucher).where(
                t.voucher.c.code == code, t.voucher.c.organization_id == self.organization_id
            )
        )
        return result.mappings().first()

    async def redeem(self, voucher_id: str, amount: int, now: datetime) -> bool:
        """Redeem the voucher if it is unredeemed and unexpired now. One statement decides:
        of two redemptions at once, only one finds it unredeemed."""
        redeemed = await self.conn.execute(
            update(t.voucher)
            .where(
                t.voucher.c.id == voucher_id, t.voucher.c.redeemed_at.is_(None), t.voucher.c.expires_at > now
            )
            .values(redeemed_at=now, redeemed_amount=amount)
        )
        return redeemed.rowcount == 1
