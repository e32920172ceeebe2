"""The account commands, and what `serve` prints on the embedded database."""

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from rma_graphql.config import Settings
from rma_graphql.db.migrate import migrate
from rma_graphql.domain.access import SCOPES
from rma_graphql.service.organizations import demo_organization_id
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
    server = await stack.enter_async_context(Server(settings.replace(token_check_seconds=0)))
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


class Serving:
    """``rma-graphql serve`` in a process of its own, and what it printed before serving."""

    def __init__(self, url: str, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [COMMAND, "serve", "--port", str(port), "--log-level", "warning"],
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.printed: list[str] = []
        while not any("GraphiQL" in line for line in self.printed):
            line = self.process.stdout.readline()
            assert line, f"serve ended early: {self.printed}"
            self.printed.append(line)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

    @property
    def credentials(self) -> dict[str, str]:
        return dict(line.strip().split("=", 1) for line in self.printed if line.strip().startswith("client_"))

    @property
    def token(self) -> str:
        return next(line.split("=", 1)[1].strip() for line in self.printed if "export TOKEN=ey" in line)

    def exchange(self, client_id: str, secret: str) -> httpx.Response:
        return httpx.post(
            f"{self.base}/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.mark.skipif(DATABASE != "sqlite", reason="the demo organization lives on the embedded database")
def test_serve_prints_demo_credentials_and_a_working_token() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}"
        serving = Serving(url, _free_port())
        try:
            values = serving.credentials
            renew = next(
                line.strip() for line in serving.printed if line.strip().startswith("export TOKEN=$(")
            )
            viewer = httpx.post(
                f"{serving.base}/graphql",
                json={"query": "{ viewer { scopes } }"},
                headers=bearer(serving.token),
            ).json()
            exchanged = subprocess.run(
                ["bash", "-c", f'{renew} && echo "$TOKEN"'],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            renewed = exchanged.stdout.strip()
            renewed_viewer = httpx.post(
                f"{serving.base}/graphql", json={"query": "{ viewer { scopes } }"}, headers=bearer(renewed)
            ).json()
            page = httpx.get(f"{serving.base}/graphql", headers={"Accept": "text/html"}).text
            # The printed demo users log in to the back office and the portal.
            users = next(line for line in serving.printed if "each with the password" in line)
            password = users.rsplit(" ", 1)[-1].strip()
            logged = {
                name: httpx.post(
                    f"{serving.base}/graphql",
                    json={
                        "query": "mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) "
                        "{ token user { role customer { name } } } }",
                        "variables": {"u": name, "p": password},
                    },
                ).json()["data"]["logIn"]
                for name in ("demo-admin", "demo-agent", "demo-inspector", "demo-ada", "demo-alan")
            }
            ada_orders = httpx.post(
                f"{serving.base}/graphql",
                json={"query": "{ orders { nodes { externalReference } } }"},
                headers=bearer(logged["demo-ada"]["token"]),
            ).json()
            portal = httpx.get(f"{serving.base}/portal")
        finally:
            serving.stop()

    assert set(values) == {"client_id", "client_secret"}
    assert viewer["data"]["viewer"]["scopes"] == sorted(SCOPES)
    # The printed lines give bare tokens, ready for `Authorization: Bearer $TOKEN`.
    assert renewed.startswith("ey")
    assert renewed.count(".") == 2
    assert renewed_viewer == viewer
    assert "Bearer ey" in page
    assert {name: (user["user"]["role"], user["user"]["customer"]) for name, user in logged.items()} == {
        "demo-admin": ("ADMIN", None),
        "demo-agent": ("AGENT", None),
        "demo-inspector": ("INSPECTOR", None),
        "demo-ada": ("CUSTOMER", {"name": "Ada Lovelace"}),
        "demo-alan": ("CUSTOMER", {"name": "Alan Turing"}),
    }
    assert sorted(o["externalReference"] for o in ada_orders["data"]["orders"]["nodes"]) == [
        "DEMO-1001",
        "DEMO-1003",
    ]
    assert portal.status_code == 200
    assert '<script type="module" src="/web/portal.js">' in portal.text


RETURNABLE = """
query($orderId: String!) {
  returnableItems(orderId: $orderId) { sku orderedQuantity returnableQuantity reason }
}"""
ORDERS = (
    "{ orders { nodes { id externalReference status } } products { totalCount } customers { totalCount } }"
)


@pytest.mark.skipif(DATABASE != "sqlite", reason="serve seeds the embedded database only")
def test_a_second_serve_on_a_taken_port_changes_nothing_and_the_demo_secret_stays() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}"
        port = _free_port()
        first = Serving(url, port)
        try:
            database_before = (Path(directory) / "rma.db").read_bytes()
            second = subprocess.run(
                [COMMAND, "serve", "--port", str(port)],
                env={**os.environ, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                timeout=60,
            )
            database_after = (Path(directory) / "rma.db").read_bytes()
            still = first.exchange(first.credentials["client_id"], first.credentials["client_secret"])
            headers = bearer(first.token)
            orders = httpx.post(f"{first.base}/graphql", json={"query": ORDERS}, headers=headers).json()[
                "data"
            ]
            delivered = next(o for o in orders["orders"]["nodes"] if o["externalReference"] == "DEMO-1001")
            unshipped = next(o for o in orders["orders"]["nodes"] if o["externalReference"] == "DEMO-1003")
            returnable = httpx.post(
                f"{first.base}/graphql",
                json={"query": RETURNABLE, "variables": {"orderId": delivered["id"]}},
                headers=headers,
            ).json()["data"]["returnableItems"]
            not_yet = httpx.post(
                f"{first.base}/graphql",
                json={"query": RETURNABLE, "variables": {"orderId": unshipped["id"]}},
                headers=headers,
            ).json()["data"]["returnableItems"]
        finally:
            first.stop()
        again = Serving(url, _free_port())
        try:
            orders_again = httpx.post(
                f"{again.base}/graphql", json={"query": ORDERS}, headers=bearer(again.token)
            ).json()["data"]
        finally:
            again.stop()

    assert second.returncode == 2
    assert f"port {port} on 127.0.0.1 is taken" in second.stderr
    assert f"PORT={port + 1}" in second.stderr
    assert database_after == database_before
    assert still.status_code == 200
    assert any("demo data added" in line for line in first.printed)
    assert (orders["products"]["totalCount"], orders["customers"]["totalCount"]) == (4, 2)
    assert sorted(o["status"] for o in orders["orders"]["nodes"]) == ["DELIVERED", "PAID", "SHIPPED"]
    assert {item["sku"]: item["returnableQuantity"] for item in returnable} == {"TSHIRT-M": 2, "JEANS-32": 1}
    assert [item["reason"] for item in not_yet] == ["NOT_SHIPPED"]
    # A later start prints the same credentials and adds no second catalog.
    assert again.credentials == first.credentials
    assert not any("demo data added" in line for line in again.printed)
    assert orders_again["products"]["totalCount"] == 4


async def test_the_demo_command_seeds_any_database_once(settings: Settings, scratch_url: str) -> None:
    await asyncio.to_thread(migrate, scratch_url)
    first = cli(scratch_url, "demo", "--port", "8123")
    second = cli(scratch_url, "demo")
    async with Server(settings.replace(database_url=scratch_url)) as server:
        organization_id = await demo_organization_id(server.app.state.uow)
        assert organization_id is not None
        token = await server.token(organization_id)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
            data = (await http.post("/graphql", json={"query": ORDERS})).json()["data"]
            location = (
                await http.post("/graphql", json={"query": "{ locations { contact { address city } } }"})
            ).json()["data"]["locations"][0]

    assert "demo data added" in first.stdout
    assert "http://127.0.0.1:8123/graphql" in first.stdout
    assert "demo data added" not in second.stdout
    first_secret = next(line for line in first.stdout.splitlines() if "client_secret=" in line)
    assert first_secret in second.stdout
    assert len(data["orders"]["nodes"]) == 3
    assert data["products"]["totalCount"] == 4
    assert location["contact"] == {"address": "12 rue des Entrepôts", "city": "Lyon"}


def _tour() -> tuple[str, list[str]]:
    """The README's tour: its shell commands as one script, and the lines they print."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## A tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(sh|text)\n(.*?)```", section, flags=re.DOTALL)
    script: list[str] = []
    expected: list[str] = []
    for kind, body in blocks:
        if kind == "sh":
            script.append(body)
        elif script:  # a block of output follows the commands that print it
            expected += body.strip().splitlines()
    return "\n".join(script), expected


@pytest.mark.skipif(DATABASE != "sqlite", reason="serve adds demo data to the embedded database only")
def test_the_readme_tour_prints_what_the_readme_shows() -> None:
    script, expected = _tour()
    with tempfile.TemporaryDirectory() as directory:
        serving = Serving(f"sqlite+aiosqlite:///{Path(directory) / 'rma.db'}", _free_port())
        try:
            ran = subprocess.run(
                ["bash", "-c", "set -eu\n" + script.replace("http://127.0.0.1:8000", serving.base)],
                env={**os.environ, "TOKEN": serving.token},
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            serving.stop()

    assert ran.returncode == 0, ran.stderr
    printed = ran.stdout.strip().splitlines()
    assert len(printed) == len(expected), printed
    assert len(expected) >= 9
    for line, shown in zip(printed, expected, strict=True):
        pattern = ".*?".join(re.escape(part) for part in shown.split("…"))
        assert re.fullmatch(pattern, line), (line, shown)
