"""The migrations build exactly the schema the models declare, on the database under test."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from rma_graphql.db.migrate import migrate
from rma_graphql.db.tables import metadata


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()

    assert differences == []


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
