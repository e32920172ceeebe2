"""Reads their operation makes alone, asked at the same moment by concurrent operations, are
sent as one statement per shape and caller narrowing, and each gets what its own statement
would have given it (db/read_batches.py)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.applications import Starlette

from rma_graphql.config import Settings
from rma_graphql.db import plan_reads
from rma_graphql.db.read_batches import ReadBatches
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.criteria import RmaOrderFilter
from rma_graphql.service import queries
from tests.conftest import DATABASE, GraphQLClient, app_engines
from tests.helpers import create, rma_input

COLUMNS = ("id", "return_reference", "processing_status")
LINE_COLUMNS = ("sku", "quantity")


@contextlib.contextmanager
def _counted(app: Starlette) -> Any:
    """The SELECT statements the app runs within the block (on every engine of its)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engines = [engine.sync_engine for engine in app_engines(app)]
    for sync_engine in engines:
        event.listen(sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for sync_engine in engines:
            event.remove(sync_engine, "before_cursor_execute", count)


def _plain(found: Any) -> Any:
    """A read's answer as plain values (records and row mappings alike)."""
    if found is None:
        return None
    row, lines = found
    return dict(row), [dict(line) for line in lines]


async def _rma_ids(gql: GraphQLClient, count: int) -> list[str]:
    return [
        (await create(gql, lines=[*rma_input()["lines"], {**rma_input()["lines"][0], "sku": f"SKU-{n}"}]))[
            "id"
        ]
        for n in range(count)
    ]


def _read(uow: Any, caller: Caller, rma_id: str) -> Awaitable[Any]:
    """An RMA order and its lines, as a compiled plan reads them alone."""
    return queries.rma_order_with_line_values(uow, caller, rma_id, COLUMNS, LINE_COLUMNS)


async def test_concurrent_reads_by_id_are_one_statement_and_each_gets_its_own(
    app: Starlette, engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    uow = app.state.uow
    caller = Caller(organization_id=organization_id)
    ids = await _rma_ids(gql, 3)
    missing = str(uuid.uuid4())
    alone = [_plain(await _read(uow, caller, i)) for i in ids]
    assert [row["id"] for row, _ in alone] == ids
    assert [len(lines) for _, lines in alone] == [3, 3, 3]

    with _counted(app) as statements:
        together = await asyncio.gather(*(_read(uow, caller, i) for i in [*ids, missing]))
    assert len(statements) == 1, statements
    assert [_plain(found) for found in together] == [*alone, None]


async def test_reads_of_other_narrowings_are_not_sent_together(
    app: Starlette, engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    """A customer's read and another organization's never share the staff's statement: each
    sees what it sees alone (here: nothing)."""
    uow = app.state.uow
    (rma_id,) = await _rma_ids(gql, 1)
    staff = Caller(organization_id=organization_id)
    customer = Caller(
        organization_id=organization_id, role=Role.CUSTOMER, actor={"type": "USER", "id": "u-1"}
    )
    stranger = Caller(organization_id=str(uuid.uuid4()))
    with _counted(app) as statements:
        seen = await asyncio.gather(*(_read(uow, c, rma_id) for c in (staff, customer, stranger)))
    assert len(statements) == 3, statements
    assert seen[0] is not None
    assert seen[0][0]["id"] == rma_id
    assert seen[1:] == [None, None]


async def test_identical_concurrent_pages_are_one_statement(
    app: Starlette, engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    uow = app.state.uow
    caller = Caller(organization_id=organization_id)
    ids = await _rma_ids(gql, 3)

    def page() -> Awaitable[Any]:
        return queries.rma_order_page_with_line_values(
            uow, caller, RmaOrderFilter(), COLUMNS, LINE_COLUMNS, first=2, after=None, sort="CREATED_AT_DESC"
        )

    alone = await page()
    with _counted(app) as statements:
        pages = await asyncio.gather(page(), page(), page())
    assert len(statements) == 1, statements
    expected = ([dict(row) for row in alone[0].rows], [[dict(line) for line in lines] for lines in alone[1]])
    assert [row["id"] for row in expected[0]] == ids[::-1][:2]
    for found, lines in pages:
        assert (
            [dict(row) for row in found.rows],
            [[dict(line) for line in one] for one in lines],
        ) == expected
        assert found.has_next_page


class _Gate:
    """Connections held back until opened, each counted as it is asked for."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.open = asyncio.Event()
        self.asked = 0
        self._asked = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self._asked:
            self.asked += 1
            self._asked.notify_all()
        await self.open.wait()
        async with self.engine.connect() as conn:
            yield conn

    async def asked_for(self, count: int) -> None:
        async with self._asked:
            await self._asked.wait_for(lambda: self.asked >= count)


async def test_a_read_asked_after_its_batch_left_is_not_in_it(
    engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    """The statement takes its snapshot after every read of its batch was asked: a read asked
    once the batch is on its way (a client's next request, after its change was answered)
    gets a statement of its own."""
    first_id, second_id = await _rma_ids(gql, 2)
    gate = _Gate(engine)
    batches = ReadBatches(gate.connect)
    caller = Caller(organization_id=organization_id)

    def read(rma_id: str) -> Coroutine[Any, Any, Any]:
        return plan_reads.rma_order_with_lines(batches, caller, rma_id, COLUMNS, LINE_COLUMNS)

    first = asyncio.create_task(read(first_id))
    await gate.asked_for(1)  # the first batch is on its way
    second = asyncio.create_task(read(second_id))
    await gate.asked_for(2)
    gate.open.set()
    found = await asyncio.gather(first, second)
    assert [row["id"] for row, _ in found] == [first_id, second_id]
    assert (batches.statements, batches.reads) == (2, 2)


async def test_a_failed_statement_fails_every_read_of_its_batch_and_a_cancelled_read_none(
    engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    ids = await _rma_ids(gql, 2)
    caller = Caller(organization_id=organization_id)

    @contextlib.asynccontextmanager
    async def broken() -> AsyncIterator[AsyncConnection]:
        raise ConnectionError("the database went away")
        yield  # pragma: no cover

    failing = ReadBatches(broken)
    results = await asyncio.gather(
        *(plan_reads.rma_order_with_lines(failing, caller, i, COLUMNS, LINE_COLUMNS) for i in ids),
        return_exceptions=True,
    )
    assert [str(result) for result in results] == ["the database went away"] * 2
    assert (failing.statements, failing.reads) == (0, 0)

    gate = _Gate(engine)
    batches = ReadBatches(gate.connect)
    reads = [
        asyncio.create_task(plan_reads.rma_order_with_lines(batches, caller, i, COLUMNS, LINE_COLUMNS))
        for i in ids
    ]
    await gate.asked_for(1)
    reads[0].cancel()
    gate.open.set()
    with pytest.raises(asyncio.CancelledError):
        await reads[0]
    found = await reads[1]
    assert found is not None
    row, lines = found
    assert row["id"] == ids[1]
    assert len(lines) == 3
    assert (batches.statements, batches.reads) == (1, 2)


async def test_an_operation_whose_reads_began_reads_in_its_own_transaction(app: Starlette) -> None:
    """Batches are for an operation's only statement: once its reads hold their connection,
    a read joins them instead."""
    uow = app.state.uow
    assert uow.one_statement_batches() is uow.read_batches
    async with uow.operation():
        assert uow.one_statement_batches() is uow.read_batches
        async with uow.read():
            pass
        assert uow.one_statement_batches() is None


async def test_metrics_count_the_statements_and_the_reads_they_answered(gql: GraphQLClient) -> None:
    (rma_id,) = await _rma_ids(gql, 1)

    async def scrape() -> dict[Any, float]:
        text = (await gql.http.get("/metrics", headers={"Authorization": ""})).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    before = await scrape()
    data = await gql.data("query($id: String) { rmaOrder(id: $id) { id lines { sku } } }", {"id": rma_id})
    after = await scrape()
    assert data["rmaOrder"]["id"] == rma_id

    def moved(name: str, labels: tuple[Any, ...] = ()) -> float:
        return after.get((name, labels), 0) - before.get((name, labels), 0)

    # A compiled plan reads it alone: one read, one statement (none with compiled reads off).
    compiled = moved("rma_read_plans_total", (("outcome", "compiled"),))
    assert compiled == (1 if Settings().compiled_reads else 0)
    assert moved("rma_read_batch_reads_total") == compiled
    assert moved("rma_read_batch_statements_total") == compiled


async def test_reads_by_ids_keep_one_generic_plan_on_postgresql(app: Starlette) -> None:
    """Keyed reads run on connections whose prepared statements keep their generic plan (an
    index lookup per id, whatever the list): left to choose, PostgreSQL would plan them anew
    at every execution. Other reads keep PostgreSQL's choice."""
    batches = app.state.uow.read_batches

    async def mode(connect: Any) -> str:
        async with connect() as conn:
            return str((await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar())

    if DATABASE == "sqlite":
        assert batches.connect_keyed == batches.connect
        return
    assert batches.connect_keyed != batches.connect
    assert await mode(batches.connect_keyed) == "force_generic_plan"
    assert await mode(batches.connect) == "auto"


async def test_a_searched_page_is_read_on_the_connections_of_generic_plans(
    engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    """A search's page takes the keyed reads' connections (one plan kept whatever the
    search: chosen anew, it was planned at every execution); other pages the main pool."""
    (rma_id,) = await _rma_ids(gql, 1)
    reference = (
        await gql.data("query($id: String) { rmaOrder(id: $id) { returnReference } }", {"id": rma_id})
    )["rmaOrder"]["returnReference"]
    used: list[str] = []

    def connect(name: str) -> Any:
        def opened() -> Any:
            used.append(name)
            return engine.connect()

        return opened

    batches = ReadBatches(connect("main"), connect("generic"))
    caller = Caller(organization_id=organization_id)

    async def page(f: RmaOrderFilter) -> list[str]:
        found, _ = await plan_reads.rma_order_page_with_lines(
            batches, caller, f, COLUMNS, LINE_COLUMNS, first=5, after=None, sort="CREATED_AT_DESC"
        )
        return [row["id"] for row, _ in found]

    assert await page(RmaOrderFilter(search=reference)) == [rma_id]
    assert used == ["generic"]
    assert rma_id in await page(RmaOrderFilter())
    assert used == ["generic", "main"]


async def test_batches_keep_their_connections_and_replace_one_the_server_closed(
    database_url: str, organization_id: str, gql: GraphQLClient
) -> None:
    """On PostgreSQL the next batch runs on the connection the last one used (no checkout);
    a kept connection the server ended is closed and the read goes on a fresh one. On
    SQLite every batch takes its connection from the pool and gives it back."""
    ids = await _rma_ids(gql, 2)
    caller = Caller(organization_id=organization_id)
    postgresql = database_url.startswith("postgresql")
    # An engine of its own, its sessions named: the kept one is found by that name.
    engine = create_async_engine(
        database_url,
        connect_args={"server_settings": {"application_name": "kept-by-batches"}} if postgresql else {},
    )
    batches = ReadBatches(engine.connect, keep=True)
    checkouts: list[object] = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *args: checkouts.append(args))
    try:
        first = await plan_reads.rma_order_with_lines(batches, caller, ids[0], COLUMNS, LINE_COLUMNS)
        second = await plan_reads.rma_order_with_lines(batches, caller, ids[1], COLUMNS, LINE_COLUMNS)
        after_two, kept = len(checkouts), batches.kept_connections
        if postgresql:
            admin = create_async_engine(database_url)
            async with admin.connect() as conn:
                ended = (
                    await conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'kept-by-batches'"
                    )
                ).all()
            await admin.dispose()
        third = await plan_reads.rma_order_with_lines(batches, caller, ids[0], COLUMNS, LINE_COLUMNS)
        after_three = len(checkouts)
    finally:
        await batches.close()
        await engine.dispose()

    assert [found[0]["id"] for found in (first, second, third) if found is not None] == [
        ids[0],
        ids[1],
        ids[0],
    ]
    if postgresql:
        assert (after_two, kept) == (1, 1)
        assert ended == [(True,)]
        # The ended connection, seen closed when taken or failing the third read once, was
        # replaced by a fresh one.
        assert after_three == 2
    else:
        assert (after_two, kept) == (2, 0)
        assert after_three == 3
