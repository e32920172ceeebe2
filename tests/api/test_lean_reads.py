"""The lean request path: an operation's reads share one connection and one snapshot, a
token is verified once, and a page's lines come in one statement without a coroutine per
RMA order."""

import asyncio
from typing import Any

import jwt
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller
from rma_graphql.service import queries
from rma_graphql.service.records import RmaOrderLineRecord
from rma_graphql.service.unit_of_work import UnitOfWork
from tests.conftest import DATABASE, GraphQLClient
from tests.helpers import create


async def _set_quantity(engine: AsyncEngine, rma_id: str, quantity: int) -> None:
    """Another request's committed change, on a connection of its own."""
    async with engine.begin() as conn:
        await conn.execute(
            update(t.rma_order_line)
            .where(t.rma_order_line.c.rma_order_id == rma_id)
            .values(quantity=quantity)
        )


async def _quantities(uow: UnitOfWork, rma_id: str) -> list[int]:
    found = await queries.children_by_rma(uow, "lines", RmaOrderLineRecord, [rma_id])
    return [line.quantity for line in found[0]]


async def test_an_operations_reads_see_one_snapshot(
    app: Starlette, engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    rma_id = (await create(gql))["id"]
    uow: UnitOfWork = app.state.uow
    caller = Caller(organization_id=organization_id)

    before = await _quantities(uow, rma_id)
    async with uow.operation():
        row = await queries.rma_order_row(uow, caller, rma_id)
        await _set_quantity(engine, rma_id, 7)
        inside = await _quantities(uow, rma_id)
    after = await _quantities(uow, rma_id)

    assert row is not None
    assert row.id == rma_id
    # The change committed after the operation's first read: its later reads do not see it.
    assert inside == before != after
    assert after == [7] * len(before)


async def test_a_change_inside_an_operation_is_seen_by_its_later_reads(
    app: Starlette, organization_id: str, gql: GraphQLClient
) -> None:
    rma_id = (await create(gql))["id"]
    uow: UnitOfWork = app.state.uow

    async with uow.operation():
        before = await _quantities(uow, rma_id)
        async with uow.transaction() as conn:
            await conn.execute(
                update(t.rma_order_line).where(t.rma_order_line.c.rma_order_id == rma_id).values(quantity=3)
            )
        later = await _quantities(uow, rma_id)

    assert before != later == [3] * len(before)


async def test_a_token_is_verified_once_and_still_refused_once_revoked(
    gql: GraphQLClient, monkeypatch: Any
) -> None:
    decoded: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    viewer = "{ viewer { organizationId } }"
    answers = [await gql.http.post("/graphql", json={"query": viewer}) for _ in range(3)]
    logged_out = await gql.http.post("/graphql", json={"query": "mutation { logOut }"})
    refused = await gql.http.post("/graphql", json={"query": viewer})

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("errors" not in a.json() for a in answers)
    assert decoded == [gql.token]
    assert logged_out.json() == {"data": {"logOut": True}}
    assert refused.status_code == 401


async def test_a_task_that_outlives_its_operation_reads_on_a_connection_of_its_own(
    app: Starlette, engine: AsyncEngine, gql: GraphQLClient
) -> None:
    rma_id = (await create(gql))["id"]
    uow: UnitOfWork = app.state.uow
    release = asyncio.Event()

    async def later() -> list[int]:
        await release.wait()
        return await _quantities(uow, rma_id)

    async with uow.operation():
        during = await _quantities(uow, rma_id)
        # Started inside the operation, so it inherits the operation's context.
        task = asyncio.create_task(later())
    checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
    release.set()
    after = await task

    assert after == during
    if DATABASE == "sqlite":  # nothing else of the app reads in the background there
        assert engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]


async def test_a_read_cut_short_by_a_failing_sibling_leaves_no_broken_connection(gql: GraphQLClient) -> None:
    """A root field that fails (first over the limit) while its sibling reads: the execution
    cancels the sibling, on PostgreSQL possibly half-way through its BEGIN. The connection
    must not go back to the pool with a transaction SQLAlchemy does not know of (every later
    transaction on it would fail)."""
    rma_id = (await create(gql))["id"]
    failing = (
        "query($id: String) { rmaOrder(id: $id) { returnNumber lines { sku } } "
        "rmaOrders(first: 300) { nodes { id } } }"
    )
    for _ in range(10):
        error = await gql.error(failing, {"id": rma_id})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Every pooled connection still takes transactions: writes and reads succeed.
    for _ in range(10):
        made = await create(gql)
        assert made["processingStatus"] == "NEW"
