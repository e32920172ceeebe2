"""return numbers issued from a row of their own

A create holds the row it takes its return number from until it commits (the numbers stay
gapless). That row was the organization's, which every change of the organization also
locks to take its event positions: each change of an organization then waited for the
creates under way to commit. The counter now has a row of its own per organization, made
from the organization's last number here, and by an organization's first create after.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_number_counter",
        sa.Column(
            "organization_id",
            sa.String(length=36),
            sa.ForeignKey("organization.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        sa.Column("last_return_number", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO return_number_counter (organization_id, last_return_number) "
        "SELECT id, last_return_number FROM organization"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE organization SET last_return_number = (SELECT c.last_return_number "
        "FROM return_number_counter AS c WHERE c.organization_id = organization.id) "
        "WHERE id IN (SELECT organization_id FROM return_number_counter)"
    )
    op.drop_table("return_number_counter")
