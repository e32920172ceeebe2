"""an index of the customers' case-folded emails per organization

A round of mails looks up its recipients' languages among the organization's customers by
case-folded email (``lower(email) = ANY(…)``): without an index on that expression, every
round read all of the organization's customers.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_email", "customer", ["organization_id", sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_customer_email", table_name="customer")
