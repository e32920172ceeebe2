"""Custom states: an organization's own labels beside the four statuses."""

from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import id_field, json_field, time_field


class RmaCustomState(SQLModel, table=True):
    __tablename__ = "rma_custom_state"
    __table_args__ = (UniqueConstraint("organization_id", "code", name="uq_rma_custom_state_code"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    code: str = Field(sa_column=Column(String(40), nullable=False))
    # By language (BCP 47): the name, and the description.
    names: dict[str, str] = json_field(nullable=False)
    descriptions: dict[str, str] = json_field(nullable=False)
    position: int = Field(sa_column=Column(Integer, nullable=False))
    # The processing statuses an RMA order may be given the state in.
    processing_statuses: list[str] = json_field(nullable=False)
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


rma_custom_state: Table = RmaCustomState.__table__  # type: ignore[attr-defined]  # set by SQLModel
