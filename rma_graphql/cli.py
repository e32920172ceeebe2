"""The ``rma-graphql`` command: serve, migrate, and the accounts of organizations."""

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import shlex
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from pydantic import ValidationError

from rma_graphql.config import Settings, settings_problems
from rma_graphql.db.engine import create_engine
from rma_graphql.db.migrate import migrate
from rma_graphql.domain.access import Role, parse_scopes
from rma_graphql.domain.errors import DomainError
from rma_graphql.logs import configure_logging
from rma_graphql.service import accounts, demo, organizations, password_resets, users
from rma_graphql.service.unit_of_work import UnitOfWork

log = logging.getLogger("rma_graphql")
T = TypeVar("T")


def _run(settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Apply pending migrations, then run ``work`` in a unit of work of its own."""
    migrate(settings.database_url)

    async def main() -> T:
        engine = create_engine(settings)
        try:
            return await work(UnitOfWork(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _announce_demo(settings: Settings, host: str, port: int) -> None:
    """The demo organization (with its demo data when it has none), its API client's
    credentials, which stay the same from one start to the next, and a fresh token."""

    async def work(uow: UnitOfWork) -> tuple[str, str, str, str, bool, tuple[list[str], str]]:
        organization_id = await organizations.ensure_demo_organization(uow)
        seeded = await demo.seed(uow, organizations.admin_caller(organization_id))
        service = await accounts.Accounts.from_settings(uow, settings)
        client_id, client_secret = await organizations.demo_credentials(uow, organization_id, service)
        users = await demo.demo_users(uow, service, organization_id)
        issue = await service.token_issuer(client_id)
        return organization_id, client_id, client_secret, issue().token, seeded, users

    organization_id, client_id, client_secret, token, seeded, (usernames, password) = _run(settings, work)
    if seeded:
        print(
            "rma_graphql: demo data added: 4 products (7 SKUs with stock), 2 customers, 3 orders "
            "(DEMO-1001 delivered, DEMO-1002 shipped, DEMO-1003 not shipped)",
            flush=True,
        )
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    form = f"grant_type=client_credentials&organization_id={organization_id}"
    credentials = shlex.quote(client_id + ":" + client_secret)
    fetch = (
        f"curl -s -u {credentials} -d {shlex.quote(form)} {base}/oauth2/token"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    print(
        "\n".join(
            [
                f"rma_graphql: demo organization {organization_id}",
                f"  client_id={client_id}",
                f"  client_secret={client_secret}",
                f"  a token, valid {settings.token_ttl_seconds} s (paste the line into your shell):",
                f"  export TOKEN={token}",
                "  get another one:",
                f"  export TOKEN=$({fetch})",
                f"  back office: {base}/admin  return portal: {base}/portal?organization={organization_id}",
                f"  users {', '.join(usernames)}, each with the password {password}",
                f"  GraphiQL (opens with a demo token when browsed from this machine): {base}/graphql",
            ]
        ),
        flush=True,
    )


def _port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (taken, not allowed), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot resolve {host}: {error.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is taken (is another server running?)"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from rma_graphql.http_protocol import HttpProtocol

    # Before anything changes: a second server must leave the first one as it was.
    problem = _port_problem(args.host, args.port)
    if problem is not None:
        print(
            f"rma-graphql: {problem}. Stop it, or choose another port: "
            f"rma-graphql serve --port {args.port + 1} (make run PORT={args.port + 1}).",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 and settings.is_sqlite:
        print(
            "--workers above 1 needs PostgreSQL: the embedded SQLite database serves one "
            "process. Set DATABASE_URL=postgresql+asyncpg://… or use --workers 1.",
            file=sys.stderr,
        )
        return 2
    # Links in emails point at this server unless told otherwise (read by every worker).
    if "RMA_PUBLIC_URL" not in os.environ:
        os.environ["RMA_PUBLIC_URL"] = f"http://{args.host}:{args.port}"
    if not args.no_migrate:
        migrate(settings.database_url)
        log.info("database ready")
    if settings.is_sqlite:
        _announce_demo(settings, args.host, args.port)
    else:
        print(f"rma_graphql: GraphiQL on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    separate = _senders_apart(settings)
    with _shared_metrics(args.workers > 1 or separate), _senders(settings if separate else None):
        uvicorn.run(
            "rma_graphql.startup:served_app",
            factory=True,
            # Logging is ours (one line per request, in JSON by default), in every worker.
            log_config=None,
            access_log=False,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            # Each answer's head and body in one write (rma_graphql/http_protocol.py).
            http=HttpProtocol,
        )
    return 0


def _senders_apart(settings: Settings) -> bool:
    """Whether the senders run in a process of their own (PostgreSQL, both senders on)."""
    return (
        settings.sender_process
        and not settings.is_sqlite
        and settings.webhook_delivery
        and settings.notification_delivery
    )


@contextlib.contextmanager
def _senders(settings: Settings | None) -> Iterator[None]:
    """With ``settings``, the senders' process (rma_graphql/sender_process.py) for the block,
    and the servers started in it without senders of their own."""
    if settings is None:
        yield
        return
    from rma_graphql.sender_process import SERVERS_LEAVE_THEM, SenderProcess

    senders = SenderProcess(settings.sender_nice)
    senders.start()
    before = {name: os.environ.get(name) for name in SERVERS_LEAVE_THEM}
    os.environ.update(SERVERS_LEAVE_THEM)
    try:
        yield
    finally:
        senders.stop()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _shared_metrics(shared: bool) -> Iterator[None]:
    """For several processes, a directory of their own where they keep the metrics a scrape
    sums (prometheus-client's multiprocess mode), fresh at each start, removed at the end."""
    if not shared or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="rma-graphql-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    """The demo organization, its demo data and its API client, on any database."""
    _announce_demo(settings, args.host, args.port)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Send webhooks and notifications until SIGINT or SIGTERM (servers started with
    RMA_WEBHOOK_DELIVERY=false or RMA_NOTIFICATION_DELIVERY=false then leave them to such
    workers; both may run together on PostgreSQL)."""
    from rma_graphql.app import run_worker

    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if not args.no_migrate:
        migrate(settings.database_url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        watching = asyncio.create_task(_until_orphaned(args.parent, stop)) if args.parent else None
        await run_worker(settings, stop)
        if watching is not None:
            watching.cancel()

    asyncio.run(main())
    return 0


async def _until_orphaned(parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once ``parent`` is no longer this process's parent: it has ended (a server
    killed outright leaves no senders behind), maybe before this process could look."""
    while os.getppid() == parent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
            return
    stop.set()


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    print("migrations applied", file=sys.stderr)
    return 0


def _organizations_create(args: argparse.Namespace, settings: Settings) -> int:
    organization_id = _run(settings, lambda uow: organizations.create_organization(uow, args.name))
    print(organization_id)
    return 0


def _clients_create(args: argparse.Namespace, settings: Settings) -> int:
    scopes = parse_scopes(args.scopes)
    client_id, client_secret = _run(
        settings,
        lambda uow: organizations.create_client(uow, args.organization, name=args.name, scopes=scopes),
    )
    print(f"client_id={client_id}")
    print(f"client_secret={client_secret}")
    return 0


def _clients_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _run(settings, lambda uow: organizations.list_clients(uow, args.organization))
    print("client_id\torganization_id\tname\tscopes\tcreated_at\trevoked_at")
    for row in rows:
        scopes = " ".join(row["scopes"]) if row["scopes"] is not None else "*"
        revoked = row["revoked_at"].isoformat() if row["revoked_at"] else "-"
        print(
            f"{row['id']}\t{row['organization_id']}\t{row['name']}\t{scopes}\t"
            f"{row['created_at'].isoformat()}\t{revoked}"
        )
    return 0


def _clients_revoke(args: argparse.Namespace, settings: Settings) -> int:
    if not _run(settings, lambda uow: organizations.revoke_client(uow, args.client_id)):
        print(f"no API client {args.client_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.client_id}", file=sys.stderr)
    return 0


def _users_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow: UnitOfWork) -> Any:
        service = await accounts.Accounts.from_settings(uow, settings)
        users.check_password(args.password, "password")
        return await accounts.create_user(
            uow,
            organization_id=args.organization,
            username=args.username,
            email=args.email,
            password_hash=await service.hash_password(args.password),
            role=Role(args.role),
        )

    user = _run(settings, work)
    print(user["id"])
    return 0


def _users_reset_token(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow: UnitOfWork) -> str:
        return await password_resets.token_for(uow, args.username, settings.password_reset_ttl_seconds)

    token = _run(settings, work)
    minutes = settings.password_reset_ttl_seconds // 60
    print(f"# single use, valid {minutes} minutes: the user opens the link, or passwordReset(token, new)")
    print(f"token={token}")
    print(f"link={password_resets.reset_link(settings.public_url, token)}")
    return 0


def _users_parser(commands: Any) -> None:
    users = commands.add_parser("users", help="users").add_subparsers(dest="action", required=True)
    create_user = users.add_parser("create", help="a user with a role; prints its id")
    create_user.add_argument("--organization", required=True, metavar="ID")
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password", required=True)
    create_user.add_argument("--role", required=True, choices=[role.value for role in Role])
    create_user.set_defaults(handler=_users_create)
    reset_token = users.add_parser(
        "reset-token", help="a password reset token and link for a user (when no mail can be sent)"
    )
    reset_token.add_argument("--username", required=True)
    reset_token.set_defaults(handler=_users_reset_token)


def _worker_parser(commands: Any) -> None:
    worker = commands.add_parser("worker", help="send webhooks and notifications until stopped")
    worker.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    worker.add_argument(
        "--nice",
        type=int,
        default=0,
        choices=range(20),
        metavar="N",
        help="run at this CPU niceness (0-19: the higher, the lower its priority)",
    )
    worker.add_argument(
        "--parent", type=int, default=0, metavar="PID", help="stop when the process PID (its parent) ends"
    )
    worker.set_defaults(handler=_worker)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rma-graphql", description="The RMA order GraphQL server.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)

    commands.add_parser("migrate", help="apply pending migrations only").set_defaults(handler=_migrate)

    _worker_parser(commands)

    demo_command = commands.add_parser(
        "demo",
        help="create the demo organization with demo data (a catalog, customers, orders) and print "
        "its API client's credentials; serve does this by itself on the embedded database only",
    )
    demo_command.add_argument("--host", default="127.0.0.1", help="the host the printed URLs name")
    demo_command.add_argument("--port", type=int, default=8000, help="the port the printed URLs name")
    demo_command.set_defaults(handler=_demo)

    organizations = commands.add_parser("organizations", help="organizations").add_subparsers(
        dest="action", required=True
    )
    create_organization = organizations.add_parser(
        "create", help="a new organization with a warehouse and its configuration; prints its id"
    )
    create_organization.add_argument("name")
    create_organization.set_defaults(handler=_organizations_create)

    clients = commands.add_parser("clients", help="API clients (OAuth2 client credentials)").add_subparsers(
        dest="action", required=True
    )
    create_client = clients.add_parser("create", help="prints client_id=… and client_secret=…")
    create_client.add_argument("--organization", required=True, metavar="ID")
    create_client.add_argument("--scopes", default=None, help="space-separated; default: every scope")
    create_client.add_argument("--name", default="API client")
    create_client.set_defaults(handler=_clients_create)
    list_clients = clients.add_parser("list", help="every API client (secrets are never shown again)")
    list_clients.add_argument("--organization", default=None, metavar="ID")
    list_clients.set_defaults(handler=_clients_list)
    revoke_client = clients.add_parser("revoke", help="refuse the client's tokens from now on")
    revoke_client.add_argument("client_id")
    revoke_client.set_defaults(handler=_clients_revoke)

    _users_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environment()
    except ValidationError as error:
        for problem in settings_problems(error):
            print(f"rma-graphql: {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        return int(args.handler(args, settings))
    except DomainError as error:
        print(f"rma-graphql: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
