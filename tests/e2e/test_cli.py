"""The account commands, and what `serve` prints on the embedded database."""

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from rma_graphql.config import Settings
from rma_graphql.domain.access import SCOPES
from tests.conftest import DATABASE, GraphQLClient, Server, _free_port
from tests.helpers import LOG_IN, bearer

COMMAND = str(Path(sys.executable).parent / "rma-graphql")


def cli(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [COMMAND, *args],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "RMA_PASSWORD_TIME_COST": "1",
            "RMA_PASSWORD_MEMORY_KIB": "8",
            "RMA_PASSWORD_PARALLELISM": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


async def test_organizations_clients_and_users_from_the_command_line(
    settings: Settings, organization_id: str
) -> None:
    # Every request checks its token: a revocation from another process shows at once.
    stack = contextlib.AsyncExitStack()
    server = await stack.enter_async_context(Server(dataclasses.replace(settings, token_check_seconds=0)))
    url = server.settings.database_url
    created = cli(url, "organizations", "create", "Acme Returns")
    new_organization = created.stdout.strip().splitlines()[-1]
    client = cli(
        url,
        "clients",
        "create",
        "--organization",
        new_organization,
        "--scopes",
        "view_rma_orders",
        "--name",
        "Storefront",
    )
    user = cli(
        url,
        "users",
        "create",
        "--organization",
        new_organization,
        "--username",
        "inspector1",
        "--email",
        "i@example.com",
        "--password",
        "correct horse",
        "--role",
        "INSPECTOR",
    )
    listed = cli(url, "clients", "list", "--organization", new_organization)
    bad_scope = cli(
        url,
        "clients",
        "create",
        "--organization",
        new_organization,
        "--scopes",
        "launch_rockets",
        check=False,
    )

    lines = client.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["client_id", "client_secret"]
    client_id, secret = (line.split("=", 1)[1] for line in lines)
    assert client_id in listed.stdout
    assert "Storefront\tview_rma_orders" in listed.stdout
    assert secret not in listed.stdout + listed.stderr + client.stderr
    assert "correct horse" not in user.stdout + user.stderr
    assert bad_scope.returncode == 2
    assert "Unknown scope: launch_rockets" in bad_scope.stderr

    async with httpx.AsyncClient(base_url=server.url) as http:
        token = (
            await http.post(
                "/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                    "organization_id": new_organization,
                },
            )
        ).json()
        login = (
            await http.post(
                "/graphql",
                json={"query": LOG_IN, "variables": {"username": "inspector1", "password": "correct horse"}},
            )
        ).json()
        gql = GraphQLClient(http)
        http.headers.update(bearer(token["access_token"]))
        before = await gql.data("{ viewer { organizationId scopes } rmaOrders { totalCount } }")

        cli(url, "clients", "revoke", client_id)
        after = await http.post("/graphql", json={"query": "{ viewer { scopes } }"})
        again = await http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
    revoked_listing = cli(url, "clients", "list", "--organization", new_organization)
    await stack.aclose()

    assert token["scope"] == "view_rma_orders"
    assert login["data"]["logIn"]["user"]["role"] == "INSPECTOR"
    assert before == {
        "viewer": {"organizationId": new_organization, "scopes": ["view_rma_orders"]},
        "rmaOrders": {"totalCount": 0},
    }
    assert after.status_code == 401
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert revoked_listing.stdout.splitlines()[1].split("\t")[-1] != "-"


@pytest.mark.skipif(DATABASE != "sqlite", reason="the demo organization lives on the embedded database")
def test_serve_prints_demo_credentials_and_a_working_token() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}"
        port = _free_port()
        process = subprocess.Popen(
            [COMMAND, "serve", "--port", str(port), "--log-level", "warning"],
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            printed = [process.stdout.readline() for _ in range(8)]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            values = dict(
                line.strip().split("=", 1) for line in printed if line.strip().startswith("client_")
            )
            token = next(line.split("Bearer ", 1)[1].strip() for line in printed if "Bearer " in line)
            curl = next(line.strip() for line in printed if line.strip().startswith("curl "))
            base = f"http://127.0.0.1:{port}"
            viewer = httpx.post(
                f"{base}/graphql", json={"query": "{ viewer { scopes } }"}, headers=bearer(token)
            ).json()
            exchanged = subprocess.run(
                curl, shell=True, capture_output=True, text=True, timeout=30, check=True
            )
            page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}).text
        finally:
            process.terminate()
            process.wait(30)
            assert process.stdout is not None
            process.stdout.close()

    assert set(values) == {"client_id", "client_secret"}
    assert viewer["data"]["viewer"]["scopes"] == sorted(SCOPES)
    assert '"token_type":"bearer"' in exchanged.stdout
    assert "Bearer ey" in page
