"""bulk actions' progress kept as last told

A server process listens for other processes' notices only while it has subscribers, so a
run's progress is kept as last told too: a process that starts following a run (or follows
one that finished) reads where it stands here.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rma_graphql.db.types

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_action_progress",
        sa.Column(
            "organization_id",
            sa.String(length=36),
            sa.ForeignKey("organization.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), primary_key=True, nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("updated_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bulk_action_progress_updated", "bulk_action_progress", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_bulk_action_progress_updated", table_name="bulk_action_progress")
    op.drop_table("bulk_action_progress")
