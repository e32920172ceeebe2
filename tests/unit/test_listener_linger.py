"""An on-demand listener goes on listening ``linger`` seconds after it was last wanted: a
subscriber who came and went meanwhile starts the wait again."""

from types import SimpleNamespace

import pytest

from rma_graphql.db import listener as listener_module
from rma_graphql.db.listener import PostgresListener


def _listener(monkeypatch: pytest.MonkeyPatch, clock: list[float]) -> PostgresListener:
    monkeypatch.setattr(listener_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    return PostgresListener(
        "postgresql+asyncpg://postgres@127.0.0.1/rma",
        lambda _n: None,
        lambda: None,
        on_demand=True,
        linger=10.0,
    )


def test_a_listener_lingers_from_when_it_was_last_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    listener = _listener(monkeypatch, clock)
    listener.want(True)
    listener.want(False)

    clock[0] = 108.0
    listener.want(True)
    wanted = listener.lingering(108.5)
    clock[0] = 109.0
    listener.want(False)

    assert wanted == 0.0
    assert listener.lingering(110.0) == 9.0
    assert listener.lingering(119.0) == 0.0


def test_a_listener_wanted_again_and_again_lingers_from_the_first_time_it_was_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    listener = _listener(monkeypatch, clock)
    listener.want(True)
    listener.want(False)

    clock[0] = 104.0
    listener.want(False)  # another organization's last subscriber left: still not wanted

    assert listener.lingering(105.0) == 5.0
    assert listener.lingering(111.0) == 0.0
