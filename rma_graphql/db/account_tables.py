"""Accounts: API clients, users, revoked tokens, the server's shared secrets, and the
rate-limit counts processes share."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, String, Table, true
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import ID_LENGTH, id_field, json_field, time_field


class ApiClient(SQLModel, table=True):
    """An API client (OAuth2 client credentials). Only a hash of its secret is kept."""

    __tablename__ = "api_client"

    id: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))
    organization_id: str = id_field(foreign="organization.id", index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=128)
    # None: every scope.
    scopes: list[str] | None = json_field()
    created_at: datetime = time_field()
    revoked_at: datetime | None = time_field(nullable=True)
    # When it last had a token issued.
    last_used_at: datetime | None = time_field(nullable=True)
    # Tokens issued before (a rotated secret) are refused.
    tokens_valid_after: datetime | None = time_field(nullable=True)


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id", index=True)
    username: str = Field(max_length=150)
    # The case-folded username: usernames are unique whatever their case.
    username_key: str = Field(sa_column=Column(String(150), nullable=False, unique=True))
    email: str = Field(max_length=320)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    created_at: datetime = time_field()
    # A CUSTOMER user's catalog customer: its orders and returns are that customer's.
    customer_id: str | None = Field(
        default=None, sa_column=Column(String(ID_LENGTH), ForeignKey("customer.id"), nullable=True)
    )
    # A deactivated user cannot log in, and its tokens are refused.
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    # Tokens issued before are refused (a changed role or password), but the one kept.
    tokens_valid_after: datetime | None = time_field(nullable=True)
    kept_token_id: str | None = Field(default=None, max_length=ID_LENGTH)


class PasswordReset(SQLModel, table=True):
    """A password reset a user asked for: its token's SHA-256 (the token itself is never
    kept), single use, expiring."""

    __tablename__ = "password_reset"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))
    organization_id: str = id_field(foreign="organization.id")
    user_id: str = id_field(foreign="app_user.id", index=True)
    created_at: datetime = time_field()
    expires_at: datetime = time_field()
    used_at: datetime | None = time_field(nullable=True)


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


api_client: Table = ApiClient.__table__  # type: ignore[attr-defined]  # set by SQLModel
app_user: Table = AppUser.__table__  # type: ignore[attr-defined]  # set by SQLModel
password_reset: Table = PasswordReset.__table__  # type: ignore[attr-defined]  # set by SQLModel
revoked_token: Table = RevokedToken.__table__  # type: ignore[attr-defined]  # set by SQLModel
server_secret: Table = ServerSecret.__table__  # type: ignore[attr-defined]  # set by SQLModel
rate_limit_counter: Table = RateLimitCounter.__table__  # type: ignore[attr-defined]  # set by SQLModel
