"""The migrations build exactly the schema the models declare, on the database under test."""

import asyncio
import uuid
import warnings
from datetime import UTC, datetime
from typing import Any

from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.config import Settings
from rma_graphql.db import tables as t
from rma_graphql.db.engine import create_engine
from rma_graphql.db.migrate import alembic_config, migrate
from rma_graphql.db.tables import POSTGRESQL_ONLY_INDEXES, metadata
from rma_graphql.domain.access import Caller
from rma_graphql.domain.statuses import CommentVisibility, ExpectedResolution, LocationType, ReturnReason
from rma_graphql.service.configurations import create_configuration, create_location
from rma_graphql.service.organizations import ensure_demo_organization
from rma_graphql.service.return_requests import LineCommand
from rma_graphql.service.rma_order_create import CreateRmaOrder, create_rma_order
from rma_graphql.service.rma_orders import add_comment, perform_action
from rma_graphql.service.unit_of_work import UnitOfWork


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(connection: Any) -> list[Any]:
        def included(item: Any, name: str | None, kind: str, reflected: bool, compared_to: Any) -> bool:
            sqlite = connection.dialect.name == "sqlite"
            return not (sqlite and kind == "index" and name in POSTGRESQL_ONLY_INDEXES)

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": included}
        )
        with warnings.catch_warnings():
            # SQLite's reflection leaves out an index over an expression, and SQLAlchemy and
            # Alembic say so: PostgreSQL's compares it.
            warnings.filterwarnings("ignore", ".*expression-based index")
            return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()

    assert differences == []


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)


async def _events(url: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        columns = "organization_id, rma_order_id, sequence, type, version, comment"
        order = "position" if "position" in (await conn.run_sync(_event_columns)) else "id"
        result = await conn.execute(
            text(f"SELECT {columns} FROM rma_order_event ORDER BY organization_id, {order}")
        )
        rows = [tuple(row) for row in result]
    await engine.dispose()
    return rows


def _event_columns(connection: Any) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("rma_order_event")}


async def test_event_positions_survive_a_downgrade_and_upgrade(scratch_url: str) -> None:
    await asyncio.to_thread(migrate, scratch_url)
    engine = create_engine(Settings(database_url=scratch_url))
    uow = UnitOfWork(engine)
    demo = await ensure_demo_organization(uow)
    other = str(uuid.uuid4())
    async with uow.transaction() as conn:
        await conn.execute(
            insert(t.organization).values(id=other, name="Other", created_at=datetime.now(UTC))
        )
    location = await create_location(
        uow, Caller(other), name="Depot", type=LocationType.WAREHOUSE, contact=None
    )
    await create_configuration(uow, Caller(other), {"location_id": location, "portal_is_active": True})
    command = CreateRmaOrder(
        expected_resolution=ExpectedResolution.REFUND,
        lines=[LineCommand(sku="SKU-1", quantity=1, reason=ReturnReason.DEFECTIVE)],
        sender={"fullname": "Ada"},
        delivery_contact={"fullname": "Warehouse"},
    )
    for organization_id in (demo, other, demo):
        caller = Caller(organization_id)
        rma_id = await create_rma_order(uow, caller, command)
        await perform_action(uow, caller, rma_id, "submit")
        await add_comment(uow, caller, rma_id, f"note in {organization_id}", CommentVisibility.INTERNAL)
    await engine.dispose()
    before = await _events(scratch_url)

    await asyncio.to_thread(alembic_command.downgrade, alembic_config(scratch_url), "0001")
    downgraded = await _events(scratch_url)
    await asyncio.to_thread(migrate, scratch_url)
    upgraded = await _events(scratch_url)

    assert len(before) == 9
    assert downgraded == before
    assert upgraded == before
    engine = create_async_engine(scratch_url)
    async with engine.connect() as conn:
        positions = (
            await conn.execute(
                text("SELECT organization_id, position FROM rma_order_event ORDER BY position")
            )
        ).all()
        last = dict((await conn.execute(text("SELECT id, last_event_position FROM organization"))).all())
        # Upgrading an existing database marks its first organization as the demo one.
        flagged = (await conn.execute(text("SELECT id FROM organization WHERE demo"))).scalars().all()
    await engine.dispose()
    assert sorted(p for o, p in positions if o == demo) == list(range(1, 7))
    assert sorted(p for o, p in positions if o == other) == [1, 2, 3]
    assert last == {demo: 6, other: 3}
    assert flagged == [demo]


async def test_money_columns_take_64_bits_and_keep_their_amounts(scratch_url: str) -> None:
    await asyncio.to_thread(alembic_command.upgrade, alembic_config(scratch_url), "0006")
    engine = create_async_engine(scratch_url)
    now = datetime.now(UTC)
    organization_id = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(insert(t.organization).values(id=organization_id, name="Shop", created_at=now))
        product = {
            "organization_id": organization_id,
            "name": "Shirt",
            "currency": "EUR",
            "search_text": "shirt",
            "created_at": now,
            "updated_at": now,
        }
        await conn.execute(insert(t.product).values(id="p-small", price=1999, **product))
    await engine.dispose()

    await asyncio.to_thread(migrate, scratch_url)
    engine = create_async_engine(scratch_url)
    async with engine.begin() as conn:
        await conn.execute(insert(t.product).values(id="p-large", price=2**40, **product))
        prices = dict((await conn.execute(text("SELECT id, price FROM product ORDER BY id"))).all())
        types = {
            c["name"]: c["type"] for c in await conn.run_sync(lambda c: inspect(c).get_columns("product"))
        }
    await engine.dispose()

    assert prices == {"p-large": 2**40, "p-small": 1999}
    assert "BIGINT" in str(types["price"]).upper()


async def _texts(url: str, query: str) -> dict[str, str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        found = dict((await conn.execute(text(query))).all())
    await engine.dispose()
    return found


async def test_search_texts_move_between_the_rma_row_and_their_own_table(scratch_url: str) -> None:
    await asyncio.to_thread(migrate, scratch_url)
    engine = create_engine(Settings(database_url=scratch_url))
    uow = UnitOfWork(engine)
    demo = await ensure_demo_organization(uow)
    for name in ("Ada Lovelace", "Grace Hopper"):
        command = CreateRmaOrder(
            expected_resolution=ExpectedResolution.REFUND,
            lines=[LineCommand(sku="SKU-1", quantity=1, reason=ReturnReason.DEFECTIVE)],
            sender={"fullname": name},
            delivery_contact={"fullname": "Warehouse"},
        )
        await create_rma_order(uow, Caller(demo), command)
    await engine.dispose()
    kept = "SELECT rma_order_id, search_text FROM rma_order_search"
    before = await _texts(scratch_url, kept)

    await asyncio.to_thread(alembic_command.downgrade, alembic_config(scratch_url), "0022")
    downgraded = await _texts(scratch_url, "SELECT id, search_text FROM rma_order")
    await asyncio.to_thread(migrate, scratch_url)
    upgraded = await _texts(scratch_url, kept)

    assert sorted(text.split("\n")[1] for text in before.values()) == ["ada lovelace", "grace hopper"]
    assert downgraded == before
    assert upgraded == before
