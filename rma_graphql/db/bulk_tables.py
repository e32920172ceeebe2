"""Bulk actions' progress as last told: a process that was not listening when a run told it
(PostgreSQL's notices reach only the sessions listening then) reads it here."""

from datetime import datetime

from sqlalchemy import Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import id_field, time_field


class BulkActionProgress(SQLModel, table=True):
    __tablename__ = "bulk_action_progress"
    __table_args__ = (Index("ix_bulk_action_progress_updated", "updated_at"),)

    # The run's id is its client's choice: one organization's never meets another's.
    organization_id: str = id_field(primary_key=True, foreign="organization.id")
    id: str = id_field(primary_key=True)
    # The RMA orders done so far: a late notice never replaces a newer one.
    done: int = Field(sa_column=Column(Integer, nullable=False))
    # The progress as its notice told it (JSON).
    progress: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = time_field()


bulk_action_progress = BulkActionProgress.__table__  # type: ignore[attr-defined]  # set by SQLModel
