"""Following a bulk action's progress: from where it stands, to its end, within its organization."""

import asyncio

import pytest

from rma_graphql.service.bulk_actions import BulkProgress, Progress


async def _all(progress: BulkProgress, run_id: str, organization_id: str) -> list[Progress]:
    return [step async for step in progress.follow(run_id, organization_id)]


async def test_a_late_subscriber_gets_where_the_run_stands_then_its_end() -> None:
    progress = BulkProgress()
    start = Progress("run-1", "org-a", "ACCEPT", total=3)
    progress.told(start)
    progress.told(Progress("run-1", "org-a", "ACCEPT", total=3, done=2, ok_count=2))
    followed = asyncio.create_task(_all(progress, "run-1", "org-a"))
    # An older notice arriving late is ignored.
    progress.told(start)
    progress.told(
        Progress("run-1", "org-a", "ACCEPT", total=3, done=3, ok_count=2, error_count=1, finished=True)
    )
    steps = await asyncio.wait_for(followed, 5)
    assert steps[-1].finished
    assert steps[-1].error_count == 1
    assert [step.done for step in steps] in ([2, 3], [3])


async def test_another_organization_never_sees_the_run() -> None:
    progress = BulkProgress()
    stranger = asyncio.create_task(_all(progress, "run-2", "org-b"))
    owner = asyncio.create_task(_all(progress, "run-2", "org-a"))
    progress.told(Progress("run-2", "org-a", "HOLD", total=1, done=1, ok_count=1, finished=True))
    assert (await asyncio.wait_for(owner, 5))[-1].finished
    assert not stranger.done()
    stranger.cancel()


async def test_a_follower_reads_a_run_it_did_not_hear_and_counts_while_following(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("rma_graphql.service.bulk_actions.LOOK_AGAIN_SECONDS", 0.01)
    progress = BulkProgress()
    demand: list[int] = []
    progress.on_followers = lambda: demand.append(progress.followers)
    looks: list[tuple[str, str]] = []
    finished = Progress("run-3", "org-a", "ACCEPT", total=2, done=2, ok_count=2, finished=True)

    async def lookup(run_id: str, organization_id: str) -> Progress | None:
        looks.append((run_id, organization_id))
        if len(looks) == 1:
            raise OSError("the database is away")  # the follower waits and looks again
        return None if len(looks) == 2 else finished

    progress.lookup = lookup
    steps = await asyncio.wait_for(_all(progress, "run-3", "org-a"), 5)

    assert steps == [finished]
    assert looks == [("run-3", "org-a")] * 3
    assert demand == [1, 0]
