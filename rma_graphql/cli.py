"""The ``rma-graphql`` command: ``serve`` and ``migrate``."""

import argparse
import asyncio
import logging
import sys

from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.db.migrate import migrate
from rma_graphql.service.configurations import ensure_demo_organization
from rma_graphql.service.unit_of_work import UnitOfWork

log = logging.getLogger("rma_graphql")


async def _seed(settings: Settings) -> str:
    engine = create_engine(settings)
    try:
        return await ensure_demo_organization(UnitOfWork(engine))
    finally:
        await engine.dispose()


def prepare_database(settings: Settings) -> str:
    """Apply pending migrations and create the demo organization on an empty database."""
    migrate(settings.database_url)
    return asyncio.run(_seed(settings))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers > 1 and settings.is_sqlite:
        print(
            "--workers above 1 needs PostgreSQL: the embedded SQLite database serves one "
            "process. Set DATABASE_URL=postgresql+asyncpg://… or use --workers 1.",
            file=sys.stderr,
        )
        return 2
    if not args.no_migrate:
        organization_id = prepare_database(settings)
        log.info("database ready; demo organization %s", organization_id)
    print(f"rma_graphql: GraphiQL on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    uvicorn.run(
        "rma_graphql.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rma-graphql", description="The RMA order GraphQL server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.add_argument("--log-level", default="info")
    commands.add_parser("migrate", help="apply pending migrations only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_environment()
    if args.command == "migrate":
        migrate(settings.database_url)
        print("migrations applied", file=sys.stderr)
        return 0
    return _serve(args, settings)


if __name__ == "__main__":
    sys.exit(main())
