"""event positions, comments and revisions

Events get UUID ids and an organization-wide ``position`` in commit order (the resume
token of the change feed and of subscriptions); existing events keep their order.
Comments and the RMA order's state as of each version get their own tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import rma_graphql.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _event_columns(integer_id: bool) -> list[sa.Column | sa.Constraint]:
    id_column = (
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)
        if integer_id
        else sa.Column("id", sa.String(length=36), nullable=False)
    )
    return [
        id_column,
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("changes", _json(), nullable=False),
        sa.Column("actor", _json(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("occurred_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rma_order_id", "sequence", name="uq_rma_order_event_sequence"),
    ]


def _new_event_columns() -> list[sa.Column | sa.Constraint]:
    return [
        *_event_columns(integer_id=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.UniqueConstraint("organization_id", "position", name="uq_rma_order_event_position"),
    ]


def _read(columns: list[sa.Column | sa.Constraint], order: str) -> list[dict[str, object]]:
    """The events, read with their declared types (times stay aware, JSON stays parsed)."""
    table = sa.Table("rma_order_event", sa.MetaData(), *columns)
    query = sa.select(table).order_by(table.c.organization_id, table.c[order])
    return [dict(row._mapping) for row in op.get_bind().execute(query)]


_COPIED = (
    "organization_id",
    "rma_order_id",
    "sequence",
    "type",
    "changes",
    "actor",
    "comment",
    "occurred_at",
    "version",
)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_event_position", sa.BigInteger(), nullable=False, server_default="0")
        )

    rows = _read(_event_columns(integer_id=True), "id")
    with op.batch_alter_table("rma_order_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_order_event_organization")
    op.drop_table("rma_order_event")
    events = op.create_table("rma_order_event", *_new_event_columns())
    positions: dict[str, int] = defaultdict(int)
    copied = []
    for row in rows:
        positions[row["organization_id"]] += 1
        copied.append(
            {
                **{name: row[name] for name in _COPIED},
                "id": str(uuid.uuid4()),
                "position": positions[row["organization_id"]],
                "visibility": None,
            }
        )
    if copied:
        op.bulk_insert(events, copied)
    organization = sa.table("organization", sa.column("id"), sa.column("last_event_position"))
    for organization_id, last in positions.items():
        bind.execute(
            organization.update().where(organization.c.id == organization_id).values(last_event_position=last)
        )

    op.create_table(
        "rma_order_comment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("author", _json(), nullable=False),
        sa.Column("created_at", rma_graphql.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rma_order_comment", schema=None) as batch_op:
        batch_op.create_index("ix_rma_order_comment_order", ["rma_order_id", "sequence"], unique=False)

    op.create_table(
        "rma_order_revision",
        sa.Column("rma_order_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rma_order_id"], ["rma_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rma_order_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("rma_order_revision")
    with op.batch_alter_table("rma_order_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_order_comment_order")
    op.drop_table("rma_order_comment")

    rows = [{name: row[name] for name in _COPIED} for row in _read(_new_event_columns(), "position")]
    op.drop_table("rma_order_event")
    events = op.create_table("rma_order_event", *_event_columns(integer_id=True))
    if rows:
        op.bulk_insert(events, rows)
    with op.batch_alter_table("rma_order_event", schema=None) as batch_op:
        batch_op.create_index("ix_rma_order_event_organization", ["organization_id", "id"], unique=False)
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("last_event_position")
