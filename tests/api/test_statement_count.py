"""A page of RMA orders with its relations costs the same SQL for 1 order as for 100."""

import asyncio
import os
from contextvars import ContextVar
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import event

from tests.api.test_returns import line, return_input, shop
from tests.conftest import DATABASE, GraphQLClient, Server
from tests.helpers import act, create, get, rma_input

PAGE = """
{ rmaOrders(first: 100) {
    totalCount
    nodes { id returnReference lines { sku quantity price } location { id name } financialResolutions { id amount } linkedOrders { orderId } organization { name } }
} }
"""

# Which request a statement runs for: the tasks a request starts (its data loaders, its
# resolvers gathered by graphql-core) inherit it; the event hub's and the rate limiter's
# background tasks carry another request's tag or none.
_REQUEST: ContextVar[str | None] = ContextVar("request", default=None)
COUNTED = "counted"


def _tag_requests(server: Server) -> None:
    """Give each HTTP request the tag its ``x-test-request`` header names."""
    app = server.app
    inner = app.middleware_stack or app.build_middleware_stack()

    async def tagged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _REQUEST.set(dict(scope["headers"]).get(b"x-test-request", b"").decode() or None)
        await inner(scope, receive, send)

    app.middleware_stack = tagged


async def _statements(
    server: Server,
    gql: GraphQLClient,
    query: str = PAGE,
    variables: dict[str, Any] | None = None,
    *,
    kinds: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE"),
) -> tuple[list[str], dict[str, Any]]:
    """The statements the request under test ran (those starting with one of ``kinds``), and
    its data."""
    _tag_requests(server)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _REQUEST.get() == COUNTED and statement.lstrip().upper().startswith(kinds):
            statements.append(statement)

    engines = [engine.sync_engine for engine in server.engines]
    for sync_engine in engines:
        event.listen(sync_engine, "before_cursor_execute", count)
    try:
        response = await gql.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"x-test-request": COUNTED},
        )
    finally:
        for sync_engine in engines:
            event.remove(sync_engine, "before_cursor_execute", count)
    body = response.json()
    assert "errors" not in body, body
    return statements, body["data"]


async def test_page_of_one_and_of_a_hundred_issue_the_same_statements(
    server: Server, gql: GraphQLClient
) -> None:
    await create(gql, linkedOrders=[{"orderId": "O-1"}])
    one, data_one = await _statements(server, gql)
    for i in range(99):
        await create(gql, linkedOrders=[{"orderId": f"O-{i}"}])

    hundred, data_hundred = await _statements(server, gql)

    assert len(data_one["rmaOrders"]["nodes"]) == 1
    assert len(data_hundred["rmaOrders"]["nodes"]) == 100
    assert all(len(node["lines"]) == 2 for node in data_hundred["rmaOrders"]["nodes"])
    assert len(one) == len(hundred) == 7, (one, hundred)


async def test_statements_of_other_tasks_are_not_counted(server: Server, gql: GraphQLClient) -> None:
    await create(gql)
    release = asyncio.Event()

    async def elsewhere() -> None:
        # A background task's statement, run while the request under test is in flight.
        await release.wait()
        async with server.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1 AS background")

    def run_elsewhere_when_the_request_starts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        release.set()

    task = asyncio.create_task(elsewhere())
    sync_engine = server.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", run_elsewhere_when_the_request_starts)
    try:
        counted, _ = await _statements(server, gql)
        await task
    finally:
        event.remove(sync_engine, "before_cursor_execute", run_elsewhere_when_the_request_starts)

    assert not any("background" in statement for statement in counted)
    assert len(counted) == 7


async def test_one_aggregate_per_shown_rma_order_serves_every_derived_field(
    gql: GraphQLClient, monkeypatch: Any
) -> None:
    from rma_graphql.service import queries

    for _ in range(3):
        await create(gql)
    built: list[str] = []
    real = queries.rma_from_records

    def counting(row: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(row.id)
        return real(row, *args, **kwargs)

    monkeypatch.setattr(queries, "rma_from_records", counting)

    data = await gql.data(
        "{ rmaOrders(first: 3) { nodes { id amountDue executedAmount remainingDue"
        " availableActions { action allowed } again: availableActions { action } } } }"
    )

    ids = [node["id"] for node in data["rmaOrders"]["nodes"]]
    assert len(ids) == 3
    assert sorted(built) == sorted(ids)


def _counts(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "count(" in statement.lower()]


async def test_the_matching_rma_orders_are_counted_only_when_asked_for(
    server: Server, gql: GraphQLClient
) -> None:
    for i in range(3):
        await create(gql, externalId=f"C-{i}")

    without, data = await _statements(server, gql, "{ rmaOrders(first: 2) { nodes { id } } }")
    counted, counted_data = await _statements(
        server, gql, "{ rmaOrders(first: 2) { totalCount nodes { id } } }"
    )
    _, estimated = await _statements(server, gql, "{ rmaOrders { totalCount totalCountEstimate } }")
    _, filtered = await _statements(
        server,
        gql,
        "{ rmaOrders(filter: {processingStatus: [NEW, REQUESTED]}) { totalCount totalCountEstimate } }",
    )

    assert len(data["rmaOrders"]["nodes"]) == 2
    assert _counts(without) == []
    assert len(_counts(counted)) == 1
    assert len(counted) == len(without) + 1
    assert counted_data["rmaOrders"]["totalCount"] == 3
    assert estimated["rmaOrders"]["totalCount"] == 3
    assert isinstance(estimated["rmaOrders"]["totalCountEstimate"], int)
    assert estimated["rmaOrders"]["totalCountEstimate"] >= 0
    assert filtered["rmaOrders"]["totalCount"] == 3
    assert isinstance(filtered["rmaOrders"]["totalCountEstimate"], int)
    if DATABASE == "sqlite":  # no planner statistics: the estimate is the count
        assert estimated["rmaOrders"]["totalCountEstimate"] == 3
        assert filtered["rmaOrders"]["totalCountEstimate"] == 3


async def test_a_return_naming_no_order_reads_no_orders(server: Server, gql: GraphQLClient) -> None:
    create = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"

    statements, data = await _statements(server, gql, create, {"input": rma_input()})

    assert data["rmaOrderCreate"]["id"]
    assert [s for s in statements if "sales_order" in s] == []
    assert not any("1 != 1" in s for s in statements)  # no statement that cannot match


async def test_a_create_writes_each_table_once_with_its_lines_in_one_statement(
    server: Server, gql: GraphQLClient
) -> None:
    """A create reads the configuration, takes the return number, inserts the RMA order, its
    search text and all its lines (one statement for the lines, however many), then keeps
    its revision and events: as the rows show afterwards. On PostgreSQL the number and the
    inserts are one statement, so that the number's row is locked for the create's last two
    statements only."""
    query = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id returnNumber } }"
    lines = [{"sku": f"SKU-{n}", "quantity": 1, "reason": "DEFECTIVE", "price": 5} for n in range(3)]
    before = (await gql.data(query, {"input": rma_input()}))["rmaOrderCreate"]["returnNumber"]

    statements, data = await _statements(
        server, gql, query, {"input": rma_input(lines=lines)}, kinds=("SELECT", "INSERT", "UPDATE", "WITH")
    )

    made = data["rmaOrderCreate"]
    assert made["returnNumber"] == before + 1
    tables = [
        next(word for word in _words(s) if word.startswith(("rma_", "organization", "return_number")))
        for s in statements
    ]
    written = [
        "rma_configuration",
        "return_number_counter",
        "rma_order",
        "rma_order_search",
        "rma_order_line",
        "rma_order_revision",
    ]
    if DATABASE == "postgresql":
        assert tables == ["rma_configuration", "return_number_counter", "rma_order_revision"], statements
        inserted = [word for a, word in pairwise(statements[1].split()) if a.upper() == "INTO"]
        assert inserted == [*written[1:-1], "rma_linked_order"], statements[1]
    else:
        # SQLite takes the event positions and writes the events in statements of their own.
        assert [t for t in tables if t != "organization"] == [*written, "rma_order_event"], statements
    shown = await get(gql, made["id"])
    assert [line["sku"] for line in shown["lines"]] == ["SKU-0", "SKU-1", "SKU-2"]
    assert [entry["type"] for entry in shown["history"]] == ["CREATED"]
    searched = await gql.data(
        '{ rmaOrders(filter: {search: "sku-2"}) { nodes { id } } }',
    )
    assert [node["id"] for node in searched["rmaOrders"]["nodes"]] == [made["id"]]


async def test_a_create_reads_the_return_status_of_its_orders_before_it_takes_its_number(
    server: Server, gql: GraphQLClient
) -> None:
    """The orders a create names have their return status read before the number's row is
    locked (it stays locked until the create commits), and set after: the order shows the
    return requested."""
    made = await shop(gql)
    query = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"
    status = "query($id: String!) { order(id: $id) { returnStatus } }"
    before = (await gql.data(status, {"id": made["order"]["id"]}))["order"]["returnStatus"]

    statements, _ = await _statements(
        server,
        gql,
        query,
        {"input": return_input(line(made["lines"]["SHIRT-M"]))},
        kinds=("SELECT", "WITH", "INSERT"),
    )

    after = (await gql.data(status, {"id": made["order"]["id"]}))["order"]["returnStatus"]
    assert (before, after) == ("NO_RETURN", "RETURN_REQUESTED")
    # The read of the orders with the RMA orders returning from them (_RETURN_STATUSES).
    read = [i for i, s in enumerate(statements) if "LEFT OUTER JOIN (rma_linked_order" in s]
    assert len(read) == 1, statements
    numbered = next(i for i, s in enumerate(statements) if "return_number_counter" in s)
    assert read[0] < numbered, statements


def _words(statement: str) -> list[str]:
    """The words after FROM, INTO and UPDATE in a statement: the tables it reads or writes."""
    words = statement.replace("(", " ").split()
    return [b for a, b in pairwise(words) if a.upper() in ("FROM", "INTO", "UPDATE")]


async def test_a_read_operation_checks_out_one_connection(server: Server, gql: GraphQLClient) -> None:
    for _ in range(3):
        await create(gql, linkedOrders=[{"orderId": "O-1"}])
    checkouts: list[str | None] = []

    def checked_out(*args: Any) -> None:
        checkouts.append(_REQUEST.get())

    pool = server.engine.sync_engine.pool
    event.listen(pool, "checkout", checked_out)
    try:
        statements, data = await _statements(server, gql)
    finally:
        event.remove(pool, "checkout", checked_out)

    assert len(data["rmaOrders"]["nodes"]) == 3
    # Seven statements, one connection: the page, its count and every relation share it.
    assert len(statements) == 7
    assert checkouts.count(COUNTED) == 1


async def test_a_transition_is_one_read_and_one_write(
    server: Server, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a plain transition reads the RMA order with its children in one
    statement, the return status of its orders in another, and writes the update, revision
    and events in one, without a transaction around them (each statement is atomic alone);
    the answer and history are as ever."""
    rma = await create(gql, linkedOrders=[{"orderId": "O-1"}, {"orderId": "O-2"}])
    submitted = await act(gql, rma["id"], "submit")
    begun: list[str | None] = []
    if DATABASE == "postgresql":
        import asyncpg.transaction

        start = asyncpg.transaction.Transaction.start

        async def counted_start(self: Any) -> None:
            begun.append(_REQUEST.get())
            await start(self)

        monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counted_start)

    statements, data = await _statements(
        server,
        gql,
        "mutation($id: String!, $v: Int) { rmaOrderAccept(id: $id, expectedVersion: $v) "
        "{ id version processingStatus linkedOrders { orderId } } }",
        {"id": rma["id"], "v": submitted["version"]},
        kinds=("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"),
    )

    accepted = data["rmaOrderAccept"]
    assert (accepted["processingStatus"], accepted["version"]) == ("ACCEPTED", submitted["version"] + 1)
    assert [o["orderId"] for o in accepted["linkedOrders"]] == ["O-1", "O-2"]
    after = await get(gql, rma["id"])
    assert (after["processingStatus"], after["version"]) == ("ACCEPTED", accepted["version"])
    assert after["history"][-1]["type"] == "ACCEPTED"
    assert after["history"][-1]["version"] == accepted["version"]
    # Run as a compiled action (api/compiled_actions.py), the answer is read after the change.
    answered = int(os.environ.get("RMA_COMPILED_READS", "1") not in ("0", "false"))
    if DATABASE == "postgresql":
        # The load, the return status of the orders it returns from, the write (the answer:
        # the RMA order, then its linked orders).
        assert len(statements) == 3 + 2 * answered, statements
        load, orders, write = statements[:3]
        if answered:
            assert "FROM rma_order " in statements[3]
            assert "FROM rma_linked_order" in statements[4]
        assert "FROM sales_order" in orders
        assert "rma_order_line" in load
        assert "rma_linked_order" in load
        assert all(part in write for part in ("UPDATE rma_order", "rma_order_revision", "rma_order_event"))
        # No transaction around the write; the answer's two reads share a read-only snapshot.
        assert begun.count(COUNTED) == answered

    # A change that leaves the processing status (and the linked orders) as they were cannot
    # change an order's return status: it does not read them.
    begun.clear()
    statements, data = await _statements(
        server,
        gql,
        "mutation($id: String!) { rmaOrderUpdateDeliveryStatus(id: $id, status: HANDLED) "
        "{ version deliveryStatus processingStatus } }",
        {"id": rma["id"]},
        kinds=("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"),
    )
    handled = data["rmaOrderUpdateDeliveryStatus"]
    assert handled == {
        "version": accepted["version"] + 1,
        "deliveryStatus": "HANDLED",
        "processingStatus": "ACCEPTED",
    }
    if DATABASE == "postgresql":
        # The load and the write: the answer (no list but lines) comes from the revision the
        # change kept, not read back.
        assert len(statements) == 2, statements
        assert not any("FROM sales_order" in statement for statement in statements)
        assert begun.count(COUNTED) == 0


async def test_a_page_reads_every_rma_orders_history_in_one_statement(
    server: Server, gql: GraphQLClient
) -> None:
    """``history`` in a page is one statement whatever the page's size, each RMA order
    keeping its own first ``first`` events after ``afterSequence``."""
    query = (
        "query($first: Int!, $after: Int) { rmaOrders(first: 50) { nodes { id "
        "history(first: $first, afterSequence: $after) { sequence type } } } }"
    )
    first_rma = await create(gql)
    await act(gql, first_rma["id"], "submit")
    await act(gql, first_rma["id"], "accept")
    one, data_one = await _statements(server, gql, query, {"first": 2, "after": None})
    for _ in range(9):
        await act(gql, (await create(gql))["id"], "submit")

    ten, data_ten = await _statements(server, gql, query, {"first": 2, "after": None})
    _, after_one = await _statements(server, gql, query, {"first": 5, "after": 1})

    history = [e for e in one if "rma_order_event" in e]
    assert len(history) == len([e for e in ten if "rma_order_event" in e]) == 1
    assert len(one) == len(ten)
    assert [e["type"] for e in data_one["rmaOrders"]["nodes"][0]["history"]] == ["CREATED", "SUBMITTED"]
    nodes = {node["id"]: node["history"] for node in data_ten["rmaOrders"]["nodes"]}
    assert len(nodes) == 10
    assert nodes[first_rma["id"]] == [
        {"sequence": 1, "type": "CREATED"},
        {"sequence": 2, "type": "SUBMITTED"},
    ]
    assert all([e["type"] for e in events] == ["CREATED", "SUBMITTED"] for events in nodes.values())
    later = {node["id"]: node["history"] for node in after_one["rmaOrders"]["nodes"]}
    assert [e["type"] for e in later[first_rma["id"]]] == ["SUBMITTED", "ACCEPTED"]
    assert all(len(events) == 1 for rma_id, events in later.items() if rma_id != first_rma["id"])
