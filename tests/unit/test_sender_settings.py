"""When ``rma-graphql serve`` runs the senders in a process of their own."""

import pytest

from rma_graphql.cli import _senders_apart
from rma_graphql.config import Settings

POSTGRES = "postgresql+asyncpg://rma@db/rma"


@pytest.mark.parametrize(
    ("database_url", "settings", "apart"),
    [
        (POSTGRES, {"sender_process": True}, True),
        (POSTGRES, {}, False),
        # Either delivery turned off: the operator runs workers of their own; the servers do as set.
        (POSTGRES, {"sender_process": True, "webhook_delivery": False}, False),
        (POSTGRES, {"sender_process": True, "notification_delivery": False}, False),
        # The embedded database serves one process.
        ("sqlite+aiosqlite:///rma.db", {"sender_process": True}, False),
    ],
)
def test_the_senders_run_apart_when_asked_on_postgresql_with_both_deliveries_on(
    database_url: str, settings: dict[str, bool], apart: bool
) -> None:
    assert _senders_apart(Settings(database_url=database_url, **settings)) is apart


def test_the_sender_process_niceness_is_a_niceness() -> None:
    assert Settings(database_url=POSTGRES).sender_nice == 10
    with pytest.raises(ValueError, match="sender_nice"):
        Settings(database_url=POSTGRES, sender_nice=20)
