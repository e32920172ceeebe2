"""The statements run on the driver answer exactly what SQLAlchemy answers for them: the same
columns, values and types (JSON decoded, datetimes aware in UTC), and fail as it fails."""

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import rma_reads
from rma_graphql.db import tables as t
from rma_graphql.db.change_statements import REVISION, bound
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from tests.conftest import GraphQLClient
from tests.helpers import create, snapshot


def _typed(row: Any) -> dict[str, tuple[type, Any]]:
    return {key: (type(value), value) for key, value in dict(row).items()}


async def test_driver_rows_equal_sqlalchemy_rows(
    engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    ids = [
        (
            await create(
                gql,
                linkedOrders=[{"orderId": f"O-{n}"}],
                owner={"fullname": "Owner", "email": "o@example.com"},
            )
        )["id"]
        for n in range(3)
    ]
    caller = Caller(organization_id=organization_id)
    async with engine.connect() as conn:
        one = await rma_reads.rma_order_row(conn, caller, ids[0])
        lines = await rma_reads.children_by_rma(conn, "lines", ids)
        page = await rma_reads.rma_order_rows(
            conn,
            caller,
            RmaOrderFilter(processing_status=["NEW", "REQUESTED"]),
            first=2,
            after=None,
            sort="CREATED_AT_DESC",
        )
        expected_one = (
            (await conn.execute(select(t.rma_order).where(t.rma_order.c.id == ids[0]))).mappings().one()
        )
        expected_lines = (
            (
                await conn.execute(
                    select(t.rma_order_line)
                    .where(t.rma_order_line.c.rma_order_id.in_(ids))
                    .order_by(t.rma_order_line.c.position)
                )
            )
            .mappings()
            .all()
        )
        expected_page = (
            (
                await conn.execute(
                    select(t.rma_order)
                    .where(t.rma_order.c.organization_id == organization_id)
                    .order_by(t.rma_order.c.created_at.desc(), t.rma_order.c.id.desc())
                    .limit(3)
                )
            )
            .mappings()
            .all()
        )

    assert one is not None
    assert _typed(one) == _typed(expected_one)
    assert (one["owner"]["fullname"], one["owner"]["email"]) == ("Owner", "o@example.com")
    assert one["created_at"].utcoffset() is not None
    assert {line["id"]: _typed(line) for group in lines for line in group} == {
        line["id"]: _typed(line) for line in expected_lines
    }
    assert [_typed(row) for row in page.rows] == [_typed(row) for row in expected_page[:2]]
    assert page.has_next_page


async def test_a_broken_unique_constraint_on_the_driver_is_a_duplicate_and_rolls_back(
    app: Any, engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    rma_id = (await create(gql))["id"]
    uow = app.state.uow
    revision = bound({"rma_order_id": rma_id, "version": 1, "organization_id": organization_id, "state": {}})
    before = await snapshot(engine, organization_id)

    async def change() -> None:
        async with uow.transaction() as conn:
            await conn.execute(
                update(t.rma_order).where(t.rma_order.c.id == rma_id).values(comment="written, then undone")
            )
            # Version 1 was kept when the RMA order was created.
            await REVISION.execute(conn, **revision)

    with pytest.raises(DuplicateRowError):
        await change()

    assert await snapshot(engine, organization_id) == before
