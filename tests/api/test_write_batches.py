"""Concurrent changes of one organization whose only write is their last statement are
written together in one statement while one is on its way, and each gets what its own
statement would have given it (db/write_batches.py, PostgreSQL).

The organization row is held by a transaction of the test's own, so the first change's
statement waits on it and the others queue behind it in the server: the batch forms for
certain, not by timing."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.conftest import DATABASE, GraphQLClient
from tests.helpers import act, create

pytestmark = pytest.mark.skipif(DATABASE != "postgresql", reason="batches are PostgreSQL's")

# At the version read: a change whose compare-and-set fails stays refused when strawberry
# runs it again (compiled actions leave refusals to strawberry).
ACCEPT = (
    "mutation($id: String!) { rmaOrderAccept(id: $id, expectedVersion: 2) { id version processingStatus } }"
)
CHANGES = 6


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds (10 s at most): the server's batches and the notices
    heard have no event to wait on."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert condition(), what


@contextlib.asynccontextmanager
async def _organization_held(engine: AsyncEngine, organization_id: str) -> AsyncIterator[None]:
    """The organization row locked by another transaction within the block."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(
            text("SELECT 1 FROM organization WHERE id = :id FOR UPDATE"), {"id": organization_id}
        )
        try:
            yield
        finally:
            await transaction.rollback()


@contextlib.asynccontextmanager
async def _notices(database_url: str) -> AsyncIterator[list[str]]:
    """The payloads of the event notices sent within the block."""
    heard: list[str] = []
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    await conn.add_listener("rma_order_events", lambda *args: heard.append(args[3]))
    try:
        yield heard
    finally:
        await conn.close()


async def _submitted(gql: GraphQLClient, count: int) -> list[str]:
    """RMA orders submitted one after the other (at version 2): accepting one is its
    change's only write."""
    ids = [(await create(gql))["id"] for _ in range(count)]
    for rma_id in ids:
        await act(gql, rma_id, "submit")
    return ids


async def _accept_queued(
    app: Starlette,
    engine: AsyncEngine,
    gql: GraphQLClient,
    organization_id: str,
    ids: list[str],
    meanwhile: Callable[[], Awaitable[None]],
) -> list[dict[str, Any]]:
    """Accept every RMA order at once: the first statement waits on the organization row,
    the others queue behind it; ``meanwhile`` runs once they all wait; then the row is let go."""
    batches = app.state.uow.write_batches
    async with _organization_held(engine, organization_id):
        first = asyncio.create_task(gql.execute(ACCEPT, {"id": ids[0]}))
        await _until(lambda: bool(batches.busy), "the first statement is on its way")
        rest = [asyncio.create_task(gql.execute(ACCEPT, {"id": rma_id})) for rma_id in ids[1:]]
        await _until(lambda: batches.waiting == len(ids) - 1, "the other changes wait for their batch")
        await meanwhile()
    return await asyncio.gather(first, *rest)


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def test_changes_queued_behind_one_are_written_in_one_statement_each_as_alone(
    app: Starlette, engine: AsyncEngine, gql: GraphQLClient, organization_id: str, database_url: str
) -> None:
    ids = await _submitted(gql, CHANGES)
    stale = ids[3]
    batches = app.state.uow.write_batches
    statements, changes = batches.statements, batches.changes

    async def change_one_underneath() -> None:
        # Read by its change already: its compare-and-set fails inside the batch.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE rma_order SET version = version + 1 WHERE id = :id"), {"id": stale}
            )

    async with _notices(database_url) as heard:
        answers = await _accept_queued(app, engine, gql, organization_id, ids, change_one_underneath)
        await _until(lambda: len(heard) >= CHANGES - 1, "one notice per change written")
    assert len(heard) == CHANGES - 1

    assert (batches.statements - statements, batches.changes - changes) == (1, CHANGES - 1)
    metrics = (await gql.http.get("/metrics")).text
    assert f"rma_write_batch_changes_total {float(batches.changes)}" in metrics
    for rma_id, answer in zip(ids, answers, strict=True):
        if rma_id == stale:
            assert answer["data"] is None
            assert answer["errors"][0]["extensions"]["code"] == "CONFLICT", answer
            assert "version 3" in answer["errors"][0]["message"], answer
        else:
            assert "errors" not in answer, answer
            assert answer["data"]["rmaOrderAccept"] == {
                "id": rma_id,
                "version": 3,
                "processingStatus": "ACCEPTED",
            }
    events = await _rows(
        engine,
        "SELECT rma_order_id, position, sequence, type, version FROM rma_order_event "
        "WHERE organization_id = :o ORDER BY position",
        o=organization_id,
    )
    positions = [row.position for row in events]
    assert positions == list(range(1, len(events) + 1)), "positions without a gap or a repeat"
    accepted = {row.rma_order_id: row for row in events if row.type == "ACCEPTED"}
    assert sorted(accepted) == sorted(set(ids) - {stale})
    assert all((row.sequence, row.version) == (3, 3) for row in accepted.values())
    (last,) = await _rows(
        engine, "SELECT last_event_position FROM organization WHERE id = :o", o=organization_id
    )
    assert last.last_event_position == positions[-1]
    revisions = await _rows(
        engine,
        "SELECT rma_order_id, state -> 'row' ->> 'processing_status' AS status FROM rma_order_revision "
        "WHERE organization_id = :o AND version = 3",
        o=organization_id,
    )
    assert sorted((row.rma_order_id, row.status) for row in revisions) == sorted(
        (rma_id, "ACCEPTED") for rma_id in ids if rma_id != stale
    )
    (unchanged,) = await _rows(engine, "SELECT processing_status FROM rma_order WHERE id = :id", id=stale)
    assert unchanged.processing_status == "REQUESTED"
    # Each notice names its change's version and last position, as its own statement's would.
    last_of = {row.rma_order_id: row.position for row in events if row.version == 3}
    expected = {(rma_id, 3, last_of[rma_id]) for rma_id in accepted}
    assert {(n["r"], n["v"], n["p"]) for n in map(orjson.loads, heard)} == expected


async def test_a_batch_the_database_refuses_is_sent_change_by_change(
    app: Starlette, engine: AsyncEngine, gql: GraphQLClient, organization_id: str
) -> None:
    ids = await _submitted(gql, 4)
    broken = ids[2]
    batches = app.state.uow.write_batches
    statements = batches.statements

    # The revision its change is to write exists already: the batch's statement breaks a
    # unique key, and nothing of it is written. (Inserted before the organization row is
    # held: its foreign key reads that row.)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO rma_order_revision (rma_order_id, version, organization_id, state) "
                "VALUES (:id, 3, :o, '{}')"
            ),
            {"id": broken, "o": organization_id},
        )

    async def nothing() -> None:
        pass

    answers = await _accept_queued(app, engine, gql, organization_id, ids, nothing)
    assert batches.statements == statements, "the refused batch is not counted as sent"
    for rma_id, answer in zip(ids, answers, strict=True):
        if rma_id == broken:
            assert answer["data"] is None, answer
            assert answer["errors"], answer
        else:
            assert "errors" not in answer, answer
            assert answer["data"]["rmaOrderAccept"]["version"] == 3
    (row,) = await _rows(engine, "SELECT version, processing_status FROM rma_order WHERE id = :id", id=broken)
    assert (row.version, row.processing_status) == (2, "REQUESTED")
    events = await _rows(
        engine,
        "SELECT count(*) AS n FROM rma_order_event WHERE rma_order_id = :id AND version = 3",
        id=broken,
    )
    assert events[0].n == 0
