"""Applying migrations, safe when several processes start at once."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


@contextmanager
def _sqlite_file_lock(database_url: str) -> Iterator[None]:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(database_url: str) -> None:
    """Bring the database to the newest revision (blocking; call it off the event loop).

    PostgreSQL serialises concurrent migrators with an advisory lock (see ``env.py``);
    SQLite with a lock file beside the database.
    """
    config = alembic_config(database_url)
    if database_url.startswith("sqlite"):
        with _sqlite_file_lock(database_url):
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")
