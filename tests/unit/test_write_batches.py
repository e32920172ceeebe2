"""How WriteBatches groups changes, with a writer that records its statements instead of a
database: the changes that reach their statement in the same turn of the event loop go in
one, with the first; one alone goes alone; a batch never holds two changes of one RMA order
nor more than MAX_CHANGES; and those that arrive while a statement is on its way go in the
next one."""

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import write_batches
from rma_graphql.db.write_batches import WriteBatches, Writer


class _Recorder:
    """A writer whose statements are recorded: ("alone", [item]) or ("together", items)."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.statements: list[tuple[str, list[Any]]] = []
        self.hold = hold
        # Set when a statement is sent.
        self.sent = asyncio.Event()

    async def _wait(self) -> None:
        if self.hold is not None:
            await self.hold.wait()

    async def alone(self, conn: Any, item: Any) -> Any:
        self.statements.append(("alone", [item]))
        self.sent.set()
        await self._wait()
        return f"written {item}"

    async def together(self, conn: Any, items: Sequence[Any]) -> Sequence[Any]:
        self.statements.append(("together", list(items)))
        self.sent.set()
        await self._wait()
        return [f"written {item}" for item in items]

    def writer(self) -> Writer[Any]:
        return Writer(self.alone, self.together)


# The recorder writes nothing: the changes need no connection.
NO_CONNECTION = cast(AsyncConnection, None)


def _write(
    batches: WriteBatches, recorder: _Recorder, rma: str, item: str | None = None
) -> Coroutine[Any, Any, Any]:
    """A change of ``rma`` (``item``, else the RMA order itself) written through ``batches``."""
    return batches.write(NO_CONNECTION, "org", rma, item or rma, recorder.writer())


async def test_changes_reaching_their_statement_in_one_turn_are_one_statement_with_the_first() -> None:
    batches, recorder = WriteBatches(), _Recorder()
    items = [f"rma-{n}" for n in range(5)]
    answers = await asyncio.gather(*(_write(batches, recorder, item) for item in items))
    assert answers == [f"written {item}" for item in items]
    assert recorder.statements == [("together", items)]
    assert (batches.statements, batches.changes) == (1, 5)
    assert not batches.busy
    assert batches.waiting == 0


async def test_a_change_alone_in_its_turn_is_written_alone() -> None:
    batches, recorder = WriteBatches(), _Recorder()
    assert await _write(batches, recorder, "rma-1") == "written rma-1"
    assert recorder.statements == [("alone", ["rma-1"])]
    assert (batches.statements, batches.changes) == (0, 0)


async def test_a_batch_holds_one_change_per_rma_order_and_at_most_max_changes(monkeypatch: Any) -> None:
    monkeypatch.setattr(write_batches, "MAX_CHANGES", 3)
    batches, recorder = WriteBatches(), _Recorder()
    # rma-1 twice: the second change of it waits for the next statement.
    distinct = ["rma-1", "rma-1", "rma-2", "rma-3", "rma-4"]
    items = [f"{rma} #{n}" for n, rma in enumerate(distinct)]
    answers = await asyncio.gather(
        *(_write(batches, recorder, d, i) for d, i in zip(distinct, items, strict=True))
    )
    assert answers == [f"written {item}" for item in items]
    assert recorder.statements == [
        ("together", ["rma-1 #0", "rma-2 #2", "rma-3 #3"]),
        ("together", ["rma-1 #1", "rma-4 #4"]),
    ]


async def test_changes_arriving_while_a_statement_is_on_its_way_go_in_the_next_one() -> None:
    hold = asyncio.Event()
    batches, recorder = WriteBatches(), _Recorder(hold)
    first = asyncio.create_task(_write(batches, recorder, "rma-0"))
    await recorder.sent.wait()  # its turn passed, its statement is on its way
    later = [asyncio.create_task(_write(batches, recorder, f"rma-{n}")) for n in (1, 2)]
    await asyncio.sleep(0)  # each runs up to its wait in the next turn
    assert batches.waiting == 2
    assert recorder.statements == [("alone", ["rma-0"])]
    hold.set()
    assert await asyncio.gather(first, *later) == ["written rma-0", "written rma-1", "written rma-2"]
    assert recorder.statements == [("alone", ["rma-0"]), ("together", ["rma-1", "rma-2"])]


async def test_a_first_change_cancelled_during_its_turn_leaves_the_others_to_be_written() -> None:
    batches, recorder = WriteBatches(), _Recorder()
    first = asyncio.create_task(_write(batches, recorder, "rma-0"))
    await asyncio.sleep(0)  # the first is in its turn, the queue busy
    others = [asyncio.create_task(_write(batches, recorder, f"rma-{n}")) for n in (1, 2)]
    first.cancel()
    assert await asyncio.gather(*others) == ["written rma-1", "written rma-2"]
    assert first.cancelled()
    assert recorder.statements == [("together", ["rma-1", "rma-2"])]
    assert not batches.busy
    assert batches.waiting == 0
