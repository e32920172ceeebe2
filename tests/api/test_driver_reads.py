"""The statements run on the driver answer exactly what SQLAlchemy answers for them: the same
columns, values and types (JSON decoded, datetimes aware in UTC), and fail as it fails."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import repository, rma_reads
from rma_graphql.db import tables as t
from rma_graphql.db.change_statements import REVISION, bound
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from tests.conftest import DATABASE, GraphQLClient
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


async def test_an_rma_order_loaded_for_a_change_equals_its_rows(
    engine: AsyncEngine, organization_id: str, gql: GraphQLClient
) -> None:
    """A change reads the RMA order with its lines, financial resolutions and linked orders
    in one statement on PostgreSQL (its children as arrays of rows): the same values and
    types, in the same order, as reading each table."""
    rma_id = (
        await create(gql, linkedOrders=[{"orderId": "O-2"}, {"orderId": "O-1", "externalReference": "x"}])
    )["id"]
    async with engine.begin() as conn:
        for n, created in enumerate(("2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00")):
            await conn.execute(
                t.rma_financial_resolution.insert().values(
                    id=f"00000000-0000-0000-0000-00000000000{n}",
                    organization_id=organization_id,
                    rma_order_id=rma_id,
                    type="REFUND",
                    amount=100 + n,
                    currency="EUR",
                    status="PENDING",
                    created_at=datetime.fromisoformat(created),
                )
            )
        await conn.execute(
            update(t.rma_order_line)
            .where(t.rma_order_line.c.rma_order_id == rma_id, t.rma_order_line.c.position == 0)
            .values(pictures=["https://pictures.example/1.jpg"], received_serial_numbers=["S-1"])
        )
    async with engine.connect() as conn:
        loaded = await repository.load_rma(conn, organization_id, rma_id)
        expected_row = (
            (
                await conn.execute(
                    select(
                        t.rma_order,
                        t.rma_configuration.c.auto_accept,
                        t.rma_configuration.c.voucher_validity_days,
                    )
                    .join(t.rma_configuration, t.rma_configuration.c.id == t.rma_order.c.configuration_id)
                    .where(t.rma_order.c.id == rma_id)
                )
            )
            .mappings()
            .one()
        )
        [lines] = await rma_reads.children_by_rma(conn, "lines", [rma_id])
        [resolutions] = await rma_reads.children_by_rma(conn, "financial_resolutions", [rma_id])
        [linked] = await rma_reads.children_by_rma(conn, "linked_orders", [rma_id])

    assert loaded is not None
    rma, row, linked_rows = loaded
    assert _typed(row) == _typed(expected_row)
    assert rma.lines == [repository.line_from_row(line) for line in lines]
    assert rma.lines[0].pictures == ["https://pictures.example/1.jpg"]
    assert rma.lines[0].received_serial_numbers == ["S-1"]
    assert rma.financial_resolutions == [repository.resolution_from_row(r) for r in resolutions]
    assert [r.amount for r in rma.financial_resolutions] == [101, 100]  # oldest first
    assert rma.financial_resolutions[0].created_at.utcoffset() is not None
    if DATABASE == "postgresql":
        assert linked_rows is not None
        assert [_typed(one) for one in linked_rows] == [_typed(one) for one in linked]
        assert [one["order_id"] for one in linked_rows] == ["O-2", "O-1"]
