"""accounts, API clients and access

API clients (hashed secrets), users (Argon2id hashes), revoked tokens, the shared token
signing key, rate-limit counters shared by server processes, the customer who owns an RMA
order (copied onto its events), and organization settings. An existing database's first
organization is the demo one that `serve` created.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import rma_graphql.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    op.create_table(
        "revoked_token",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "api_client",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_client_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("username_key", sa.String(length=150), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username_key"),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_organization_id"), ["organization_id"], unique=False)

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allow_customer_sign_up", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    organization = sa.table("organization", sa.column("id"), sa.column("demo"), sa.column("created_at"))
    first = (
        op.get_bind()
        .execute(sa.select(organization.c.id).order_by(organization.c.created_at, organization.c.id).limit(1))
        .scalar_one_or_none()
    )
    if first is not None:
        op.get_bind().execute(organization.update().where(organization.c.id == first).values(demo=True))

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch_op.create_index(
            "ix_rma_order_customer", ["organization_id", "customer_id", "created_at"], unique=False
        )

    with op.batch_alter_table("rma_order_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("rma_order_event", schema=None) as batch_op:
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("rma_order", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_order_customer")
        batch_op.drop_column("customer_id")

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("demo")
        batch_op.drop_column("allow_customer_sign_up")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_organization_id"))

    op.drop_table("app_user")
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_client_organization_id"))

    op.drop_table("api_client")
    op.drop_table("server_secret")
    op.drop_table("revoked_token")
    op.drop_table("rate_limit_counter")
