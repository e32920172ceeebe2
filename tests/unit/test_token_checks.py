"""A token whose trust has lapsed is checked once however many requests bring it at that
moment: those arriving while it is checked wait for that check (its answer or its error)."""

import asyncio
from typing import Any

import pytest

from rma_graphql.domain.access import Caller
from rma_graphql.service.accounts import Accounts


class _Gated(Accounts):
    """Accounts whose revocation check (the database read) waits for the test to open it."""

    def __init__(self) -> None:
        super().__init__(None, "k" * 32, token_check_seconds=60)  # type: ignore[arg-type]
        self.calls = 0
        self.entered = asyncio.Event()  # set by each check as it starts
        self.gate = asyncio.Event()
        self.answer: Any = True

    async def _check(self, caller: Caller) -> bool:
        self.calls += 1
        self.entered.set()
        await self.gate.wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return bool(self.answer)


def _caller(token: str = "t-1") -> Caller:
    return Caller(organization_id="o-1", token_id=token)


async def _started(accounts: _Gated, count: int, token: str = "t-1") -> list[asyncio.Task[bool]]:
    """``count`` requests with the token, once one of them is checking it (the others then
    wait for it: each runs up to its first suspension before the check can end)."""
    tasks = [asyncio.create_task(accounts.still_valid(_caller(token))) for _ in range(count)]
    await asyncio.wait_for(accounts.entered.wait(), 10)
    return tasks


async def test_concurrent_requests_share_one_check_and_its_answer() -> None:
    accounts = _Gated()
    tasks = await _started(accounts, 10)
    other = asyncio.create_task(accounts.still_valid(_caller("t-2")))  # another token: its own
    accounts.gate.set()

    assert await asyncio.gather(*tasks) == [True] * 10
    assert await other is True
    assert accounts.calls == 2
    # Trusted now: no check.
    assert await accounts.still_valid(_caller()) is True
    assert accounts.calls == 2


async def test_a_revoked_token_is_refused_to_every_waiting_request() -> None:
    accounts = _Gated()
    accounts.answer = False
    tasks = await _started(accounts, 5)
    accounts.gate.set()

    assert await asyncio.gather(*tasks) == [False] * 5
    assert accounts.calls == 1


async def test_a_failed_check_fails_every_waiting_request_and_the_next_one_checks_again() -> None:
    accounts = _Gated()
    accounts.answer = ConnectionError("database unreachable")
    tasks = await _started(accounts, 3)
    accounts.gate.set()

    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError] * 3
    accounts.answer = True
    assert await accounts.still_valid(_caller()) is True
    assert accounts.calls == 2


async def test_waiting_requests_check_themselves_when_the_checking_one_is_cancelled() -> None:
    accounts = _Gated()
    first, *waiting = await _started(accounts, 4)
    accounts.entered.clear()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(accounts.entered.wait(), 10)  # one of the waiting requests checks anew
    accounts.gate.set()

    assert await asyncio.gather(*waiting) == [True] * 3
    assert accounts.calls == 2  # the cancelled check, then one of the waiting requests'
