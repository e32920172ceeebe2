"""What accounts need beside organizations, clients and users: revoked tokens, the server's
shared secrets, and the rate-limit counts processes share."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, String, Table
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import id_field, time_field


class RevokedToken(SQLModel, table=True):
    """Tokens revoked before their expiry (log-out); kept until they would have expired."""

    __tablename__ = "revoked_token"

    id: str = id_field(primary_key=True)
    expires_at: datetime = time_field()
    revoked_at: datetime = time_field()


class ServerSecret(SQLModel, table=True):
    """Secrets the server generates once and every process shares (the token signing key)."""

    __tablename__ = "server_secret"

    name: str = Field(sa_column=Column(String(40), primary_key=True, nullable=False))
    value: str = Field(max_length=200)
    created_at: datetime = time_field()


class RateLimitCounter(SQLModel, table=True):
    """Requests per rate-limit key and window, summed across server processes (PostgreSQL)."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(sa_column=Column(String(120), primary_key=True, nullable=False))
    window_start: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    count: int = 0


revoked_token: Table = RevokedToken.__table__  # type: ignore[attr-defined]  # set by SQLModel
server_secret: Table = ServerSecret.__table__  # type: ignore[attr-defined]  # set by SQLModel
rate_limit_counter: Table = RateLimitCounter.__table__  # type: ignore[attr-defined]  # set by SQLModel
