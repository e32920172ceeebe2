"""Settings, read from the environment once at start."""

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./rma.db"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        )
