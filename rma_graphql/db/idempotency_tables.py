"""Idempotency keys: a mutation request's key, recorded with the change it made."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import id_field, json_field, time_field


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (Index("ix_idempotency_key_expires", "expires_at"),)

    organization_id: str = id_field(primary_key=True, foreign="organization.id")
    # Who sent it: the actor's type and id ("API_CLIENT:…", "USER:…").
    principal: str = Field(sa_column=Column(String(80), primary_key=True, nullable=False))
    key: str = Field(sa_column=Column(String(255), primary_key=True, nullable=False))
    # SHA-256 of the operation's text, its name and its variables.
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    # The process that ran it (host, pid and start): a retry knows when it is gone.
    owner: str = Field(sa_column=Column(String(200), nullable=False))
    # The RMA order versions its changes wrote: an answer lost with its process is rebuilt
    # from them (each version's revision is the RMA order as of that version).
    versions: dict[str, Any] = json_field(nullable=False)
    # The answer as sent (JSON), once known.
    response: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = time_field()
    expires_at: datetime = time_field()


idempotency_key = IdempotencyKey.__table__  # type: ignore[attr-defined]  # set by SQLModel
