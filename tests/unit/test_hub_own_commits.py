"""A process's own commits: its senders are woken at once; its subscribers are served from
the commit's notice when it comes back through LISTEN, else from the commit itself (the
events of one commit read once, not twice)."""

from typing import cast

import pytest

from rma_graphql.db.event_log import EventNotice
from rma_graphql.domain.criteria import EventFilter
from rma_graphql.service.hub import EventHub
from rma_graphql.service.unit_of_work import UnitOfWork

NOTICE = EventNotice("org-a", "rma-1", 2, 7)


def _hub(monkeypatch: pytest.MonkeyPatch, *, listening: bool) -> tuple[EventHub, list[str], list[str]]:
    hub = EventHub(cast(UnitOfWork, None), queue_limit=10, replay_page_size=10)
    woken: list[str] = []
    read: list[str] = []
    hub.watchers.append(lambda: woken.append("sender"))
    # What would read the organization's events for its subscribers.
    monkeypatch.setattr(hub, "_schedule", lambda organization_id: read.append(organization_id))
    hub.hears_own = lambda: listening
    hub.subscribe("org-a", EventFilter())
    return hub, woken, read


@pytest.mark.parametrize("listening", [False, True])
def test_a_commit_here_wakes_the_senders_and_reads_its_events_once(
    monkeypatch: pytest.MonkeyPatch, listening: bool
) -> None:
    hub, woken, read = _hub(monkeypatch, listening=listening)

    hub.committed_here([NOTICE])
    if listening:  # the notice comes back through LISTEN, and is read then
        hub.notify_one(NOTICE)

    assert woken == ["sender"] * (1 + listening)
    assert read == ["org-a"]


def test_a_commit_without_events_wakes_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    hub, woken, read = _hub(monkeypatch, listening=True)
    hub.committed_here([])
    assert (woken, read) == ([], [])
