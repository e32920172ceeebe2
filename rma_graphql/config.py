"""Settings, read from the environment once at start."""

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./rma.db"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    graphiql: bool = True
    introspection: bool = True
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    database_pool_size: int = 10
    database_max_overflow: int = 20
    sqlite_busy_timeout_ms: int = 30_000
    # A subscriber more than this many events behind is disconnected.
    subscription_queue_limit: int = 1000
    # How often the LISTEN connection is checked (PostgreSQL).
    listener_health_seconds: float = 5.0
    # Off only for benchmarks and experiments: every request then acts with every scope
    # in the demo organization.
    authentication: bool = True
    # The token signing key; when unset, one generated once and kept in the database.
    token_secret: str | None = None
    token_ttl_seconds: int = 3600
    # How long a token that passed the revocation check is trusted without a new query.
    token_check_seconds: float = 1.0
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_parallelism: int = 4
    rate_limit_per_minute: int = 1000
    rate_limit_per_second: int = 100
    # signUp, logIn and /oauth2/token, per client address.
    auth_rate_limit_per_minute: int = 30
    # How often each process shares its rate-limit counts (PostgreSQL).
    rate_limit_sync_seconds: float = 1.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_environment(cls) -> "Settings":
        origins = os.environ.get("RMA_ALLOWED_ORIGINS", "")
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            graphiql=_bool("RMA_GRAPHIQL", True),
            introspection=_bool("RMA_INTROSPECTION", True),
            allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            database_pool_size=int(os.environ.get("RMA_DATABASE_POOL_SIZE", "10")),
            database_max_overflow=int(os.environ.get("RMA_DATABASE_MAX_OVERFLOW", "20")),
            subscription_queue_limit=int(os.environ.get("RMA_SUBSCRIPTION_QUEUE_LIMIT", "1000")),
            listener_health_seconds=float(os.environ.get("RMA_LISTENER_HEALTH_SECONDS", "5")),
            authentication=_bool("RMA_AUTHENTICATION", True),
            token_secret=os.environ.get("RMA_TOKEN_SECRET") or None,
            token_ttl_seconds=_int("RMA_TOKEN_TTL_SECONDS", 3600),
            token_check_seconds=float(os.environ.get("RMA_TOKEN_CHECK_SECONDS", "1")),
            password_time_cost=_int("RMA_PASSWORD_TIME_COST", 3),
            password_memory_kib=_int("RMA_PASSWORD_MEMORY_KIB", 65536),
            password_parallelism=_int("RMA_PASSWORD_PARALLELISM", 4),
            rate_limit_per_minute=_int("RMA_RATE_LIMIT_PER_MINUTE", 1000),
            rate_limit_per_second=_int("RMA_RATE_LIMIT_PER_SECOND", 100),
            auth_rate_limit_per_minute=_int("RMA_AUTH_RATE_LIMIT_PER_MINUTE", 30),
            rate_limit_sync_seconds=float(os.environ.get("RMA_RATE_LIMIT_SYNC_SECONDS", "1")),
        )
