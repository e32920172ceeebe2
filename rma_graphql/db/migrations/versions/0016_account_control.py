"""account control

An API client's last use and the tokens a rotated secret ends; a user's active flag and the
tokens a changed role or password ends (but the one kept).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rma_graphql.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.add_column(_time("last_used_at"))
        batch_op.add_column(_time("tokens_valid_after"))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(_time("tokens_valid_after"))
        batch_op.add_column(
            sa.Column("kept_token_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("kept_token_id")
        batch_op.drop_column("tokens_valid_after")
        batch_op.drop_column("active")
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.drop_column("tokens_valid_after")
        batch_op.drop_column("last_used_at")
