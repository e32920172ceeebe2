"""money in 64 bits

Amounts in minor units become BIGINT: a total of many lines (an amount due, a
resolution) can pass 2^31 minor units. SQLite's INTEGER holds 64 bits already; there the
declared type changes too (batch mode copies the table, rows included), so that the
schema is the same on both databases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, column, nullable
MONEY = (
    ("rma_configuration", "retained_amount_for_shipping", False),
    ("rma_configuration", "return_fee", False),
    ("rma_order", "return_fee", False),
    ("rma_order", "retained_amount_for_shipping", False),
    ("rma_order_line", "price", True),
    ("rma_financial_resolution", "amount", False),
    ("voucher", "amount", False),
    ("voucher", "redeemed_amount", True),
    ("product", "price", False),
    ("sales_order", "shipping_amount", False),
    ("sales_order_line", "unit_price", False),
)


def _retype(old: type[sa.types.TypeEngine[int]], new: type[sa.types.TypeEngine[int]]) -> None:
    for table in dict.fromkeys(table for table, _, _ in MONEY):
        with op.batch_alter_table(table) as batch:
            for name, column, nullable in MONEY:
                if name == table:
                    batch.alter_column(column, existing_type=old(), type_=new(), existing_nullable=nullable)


def upgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    _retype(sa.BigInteger, sa.Integer)
