"""Settings: read from the environment once at start, validated, each default written once.

Every setting is an ``RMA_<NAME>`` environment variable (the database is
``DATABASE_URL``); the README's configuration table is generated from this model.
"""

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./rma.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMA_", frozen=True, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("database_url", "DATABASE_URL"),
        description="the database; `postgresql+asyncpg://user@host/db` for PostgreSQL",
    )
    graphiql: bool = Field(
        True, description="serve GraphiQL on `GET /graphql` (its assets are served locally)"
    )
    introspection: bool = Field(True, description="allow introspection queries")
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="comma-separated browser origins allowed for CORS and websockets"
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        description="connections kept in the pool (a connection opened beyond it is closed after each "
        "use: keep it at least as large as the requests served at once); on PostgreSQL the changes "
        "have a pool of this size of their own, and the reads by ids one of 4",
    )
    database_max_overflow: int = Field(
        10, ge=0, description="connections opened beyond the pool at peaks, closed after each use"
    )
    sqlite_busy_timeout_ms: int = Field(
        30_000, ge=0, description="how long a write waits for SQLite's lock before failing"
    )
    subscription_queue_limit: int = Field(
        1000, ge=1, description="events a subscriber may fall behind before it is disconnected"
    )
    max_subscriptions_per_connection: int = Field(
        100,
        ge=1,
        description="operations one websocket may run at once (its subscriptions, and queries and "
        "mutations still running); one more is refused with `BAD_REQUEST`, `reason: TOO_MANY_OPERATIONS`",
    )
    subscription_replay_page: int = Field(
        200, ge=1, description="events a subscription replaying from a position reads per statement"
    )
    listener_health_seconds: float = Field(
        5.0, gt=0, description="how often the `LISTEN` connection is checked (PostgreSQL)"
    )
    compiled_reads: bool = Field(
        True,
        description="answer the read documents a plan can (RMA orders by id and in pages, with their "
        "contacts, location, organization, lines, linked orders, financial resolutions, shipments and "
        "comments) through compiled plans, and state-machine actions whose answer a plan reads as compiled "
        "actions; `0` runs every operation field by field",
    )
    authentication: bool = Field(
        True,
        description="`false` only for benchmarks and experiments on the embedded database: every "
        "request then acts with every scope in the demo organization",
    )
    token_secret: str | None = Field(
        None,
        min_length=32,
        description="the token signing key (at least 32 characters); when unset, one generated once "
        "and kept in the database",
    )
    token_ttl_seconds: int = Field(3600, ge=1, description="token lifetime")
    upload_dir: str = Field("uploads", description="the folder uploaded pictures are stored in")
    upload_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="the largest picture `POST /uploads` takes"
    )
    upload_link_ttl_seconds: int = Field(
        30 * 24 * 3600, ge=60, description="how long an uploaded picture's signed link is valid, at least"
    )
    idempotency_ttl_seconds: int = Field(
        24 * 3600, ge=60, description="how long an `Idempotency-Key` and its answer are kept for retries"
    )
    idempotency_wait_seconds: float = Field(
        10.0,
        ge=0,
        description="how long a retry waits for the answer of a first run in another server process "
        "before rebuilding it from the versions the change wrote (a retry in the same process knows "
        "whether the first run still goes on)",
    )
    password_reset_ttl_seconds: int = Field(
        3600, ge=60, description="how long the single-use link of `passwordResetRequest` is valid"
    )
    portal_token_ttl_seconds: int = Field(
        1800, ge=1, description="lifetime of the token `portalOrderLookup` gives a guest of the return portal"
    )
    token_check_seconds: float = Field(
        1.0,
        ge=0,
        description="how long a token that passed the revocation check is trusted before the next check",
    )
    password_time_cost: int = Field(3, ge=1, description="Argon2id time cost of new password hashes")
    password_memory_kib: int = Field(65536, ge=8, description="Argon2id memory of new password hashes")
    password_parallelism: int = Field(
        4,
        ge=1,
        description="Argon2id parallelism of new password hashes (older hashes are upgraded at log-in)",
    )
    rate_limit_per_minute: int = Field(1000, ge=1, description="requests per token and minute")
    rate_limit_per_second: int = Field(100, ge=1, description="requests per token and second")
    auth_rate_limit_per_minute: int = Field(
        30, ge=1, description="`signUp`, `logIn` and `/oauth2/token` per client address and minute"
    )
    rate_limit_sync_seconds: float = Field(
        1.0, gt=0, description="how often processes share their rate-limit counts (PostgreSQL)"
    )
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        (5, 300, 1800, 7200, 18000, 36000, 36000),
        description="comma-separated seconds between a webhook delivery's attempts (jittered by ±10 %); "
        "after the last the delivery is FAILED",
    )
    webhook_disable_after: int = Field(
        50, ge=1, description="consecutive FAILED deliveries after which a webhook endpoint is disabled"
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="how long a webhook receiver may take")
    webhook_allow_private_networks: bool = Field(
        False,
        description="deliver webhooks to loopback, link-local and private addresses (for tests and "
        "closed networks)",
    )
    webhook_secret_key: str | None = Field(
        None,
        min_length=32,
        description="the key webhook signing secrets are encrypted with (at least 32 characters); when "
        "unset, one generated once and kept in the database, so that a dump of it can sign",
    )
    webhook_delivery: bool = Field(
        True,
        description="send webhooks from this process (`false`: leave them to `rma-graphql worker` processes)",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the server's address as customers reach it, for the links in emails "
        "(`rma-graphql serve` takes its host and port when unset)",
    )
    smtp_host: str | None = Field(
        None, description="the SMTP server notifications are sent through; unset: recorded, not sent"
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="the SMTP server's port")
    smtp_username: str | None = Field(None, description="the SMTP user name, when the server asks for one")
    smtp_password: str | None = Field(None, description="the SMTP password")
    smtp_starttls: bool = Field(False, description="require STARTTLS on the SMTP connection")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="how long the SMTP server may take")
    mail_from: str = Field("returns@localhost", description="the From address of notification emails")
    notification_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        (60, 300, 1800, 7200, 21600, 43200),
        description="comma-separated seconds between a notification's attempts (jittered by ±10 %); "
        "after the last it is FAILED",
    )
    notification_delivery: bool = Field(
        True,
        description="send notifications from this process (`false`: leave them to `rma-graphql worker` "
        "processes)",
    )
    sender_process: bool = Field(
        False,
        description="on PostgreSQL, `rma-graphql serve` sends webhooks and notifications from a process "
        "of its own, at a lower CPU priority than the servers, started again if it dies (`false`: from "
        "every server process; either delivery turned off keeps both in the servers, as set)",
    )
    sender_nice: int = Field(
        10, ge=0, le=19, description="how much lower the sender process's CPU priority is (`nice`)"
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="`json`: one JSON object per line; `console`: lines for a person at a terminal"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="the least level logged"
    )
    log_flush_seconds: float = Field(
        0.2,
        ge=0,
        le=10,
        description="how long a served process's log lines may wait to be written together (warnings "
        "and errors are written at once, with the lines before them; `0`: every line as it is logged)",
    )
    traces_exporter: Literal["none", "console", "otlp"] = Field(
        "none",
        description="OpenTelemetry traces: `console` prints spans, `otlp` sends them to "
        "`OTEL_EXPORTER_OTLP_ENDPOINT` (needs the `tracing` extra); `none` traces nothing",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("webhook_retry_schedule", "notification_retry_schedule", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_retry_schedule", "notification_retry_schedule")
    @classmethod
    def _not_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(seconds < 0 for seconds in value):
            raise ValueError("seconds between attempts are 0 or more")
        return value

    @field_validator(
        "token_secret", "webhook_secret_key", "smtp_host", "smtp_username", "smtp_password", mode="before"
    )
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        return value or None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_environment(cls) -> "Settings":
        return cls()

    def replace(self, **changes: Any) -> "Settings":
        """These settings with some changed (validated again)."""
        return type(self).model_validate({**self.model_dump(), **changes})


def environment_name(name: str) -> str:
    """The environment variable that sets the field ``name``."""
    return "DATABASE_URL" if name == "database_url" else f"RMA_{name.upper()}"


def settings_problems(error: ValidationError) -> list[str]:
    """Each invalid setting as ``VARIABLE: what is wrong``."""
    return [
        f"{environment_name(str(problem['loc'][0])) if problem['loc'] else 'settings'}: {problem['msg']}"
        for problem in error.errors()
    ]
