"""What an organization's rows go with: its events and revisions hold no key to the
organization of their own, and still go with it, through their RMA order's."""

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import tables as t
from tests.conftest import GraphQLClient
from tests.helpers import act, create

LOGS = (t.rma_order, t.rma_order_event, t.rma_order_revision)


async def _counts(engine: AsyncEngine, organization_id: str) -> list[int]:
    async with engine.connect() as conn:
        return [
            (
                await conn.execute(
                    select(func.count()).select_from(table).where(table.c.organization_id == organization_id)
                )
            ).scalar_one()
            for table in LOGS
        ]


async def test_an_organization_deleted_takes_its_rma_orders_events_and_revisions(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str
) -> None:
    rma = await create(gql)
    await act(gql, rma["id"], "submit")
    orders, events, revisions = await _counts(engine, organization_id)
    assert (orders, events >= 2, revisions) == (1, True, 2)

    async with engine.begin() as conn:
        await conn.execute(delete(t.organization).where(t.organization.c.id == organization_id))

    assert await _counts(engine, organization_id) == [0, 0, 0]
