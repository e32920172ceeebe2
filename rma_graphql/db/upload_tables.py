"""Pictures customers upload: what was stored, by whom, for which organization."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, Table
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import id_field, json_field, time_field


class Upload(SQLModel, table=True):
    __tablename__ = "upload"
    __table_args__ = (Index("ix_upload_organization", "organization_id", "created_at"),)

    # The storage key: the id and the file's extension.
    id: str = Field(sa_column=Column(String(60), primary_key=True, nullable=False))
    organization_id: str = id_field(foreign="organization.id")
    content_type: str = Field(sa_column=Column(String(40), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    # Who uploaded it (the token's actor).
    uploaded_by: dict[str, str | None] = json_field(nullable=False)
    created_at: datetime = time_field()


upload: Table = Upload.__table__  # type: ignore[attr-defined]  # set by SQLModel
