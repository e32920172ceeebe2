"""Password resets: the link is mailed over real SMTP through the notification deliveries, in
the organization's language; its token works once, within its hour, ends every token the
user held, and is not kept readable once the mail is sent; the answer never says whether an
account exists; `users reset-token` prints one for administrators without mail."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from rma_graphql.db import tables as t
from rma_graphql.domain.access import Role
from rma_graphql.service.accounts import create_user
from rma_graphql.service.organizations import create_organization
from tests.api.test_notifications import PUBLIC_URL, _serving, _settings, _until
from tests.conftest import IN_PROCESS_CLIENT
from tests.e2e.test_cli import cli
from tests.helpers import LOG_IN
from tests.smtp_server import SmtpServer

REQUEST = (
    "mutation($email: String!, $org: String) { passwordResetRequest(email: $email, organizationId: $org) }"
)
RESET = "mutation($token: String!, $new: String!) { passwordReset(token: $token, new: $new) }"
VIEWER = "{ viewer { role } }"


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return (
        await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    ).json()


async def _user(app: Any, name: str, role: Role) -> tuple[str, Any]:
    """A user of a new organization, with the password "old password 1"."""
    organization_id = await create_organization(app.state.uow, f"Shop {uuid.uuid4().hex[:8]}")
    user = await create_user(
        app.state.uow,
        organization_id=organization_id,
        username=f"{name}-{uuid.uuid4().hex[:8]}",
        email=f"{name}.{uuid.uuid4().hex[:8]}@example.com",
        password_hash=await app.state.accounts.hash_password("old password 1"),
        role=role,
    )
    return organization_id, user


async def test_a_mailed_link_resets_the_password_once(database_url: str) -> None:
    async with (
        SmtpServer() as smtp,
        _serving(_settings(database_url, smtp_host="127.0.0.1", smtp_port=smtp.port)) as app,
    ):
        organization_id, user = await _user(app, "ada", Role.CUSTOMER)
        username, email = user["username"], user["email"]
        transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
        async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as http:
            logged = await _post(http, LOG_IN, {"username": username, "password": "old password 1"})
            old_token = logged["data"]["logIn"]["token"]
            # Any email gets the same answer; only a real account gets a mail.
            assert (await _post(http, REQUEST, {"email": "nobody@example.com"}))["data"] == {
                "passwordResetRequest": True
            }
            assert (await _post(http, REQUEST, {"email": email.upper(), "org": organization_id}))["data"] == {
                "passwordResetRequest": True
            }
            (mail,) = await smtp.wait_for(lambda _: len(smtp.to(email)) == 1)
            assert mail.subject == "Reset your password"
            link = re.search(rf"{re.escape(PUBLIC_URL)}/portal#/reset/(\S+)", mail.text)
            assert link is not None, mail.text
            assert link.group(0) in mail.html
            token = link.group(1)
            # Once sent, the delivery no longer holds the link.
            engine = app.state.engine

            async def redacted() -> bool:
                async with engine.connect() as conn:
                    d = t.notification_delivery.c
                    rows = (
                        await conn.execute(select(d.text_body, d.html_body).where(d.recipient == email))
                    ).all()
                return bool(rows) and all(token not in body for row in rows for body in row)

            await _until(redacted)
            too_short = await _post(http, RESET, {"token": token, "new": "short"})
            assert too_short["errors"][0]["extensions"]["field"] == "new"
            assert (await _post(http, RESET, {"token": token, "new": "new password 2"}))["data"] == {
                "passwordReset": True
            }
            again = await _post(http, RESET, {"token": token, "new": "new password 3"})
            assert again["errors"][0]["extensions"]["reason"] == "INVALID_RESET_TOKEN"
            # The new password works, the old one and the old token do not.
            assert "errors" not in await _post(
                http, LOG_IN, {"username": username, "password": "new password 2"}
            )
            assert (await _post(http, LOG_IN, {"username": username, "password": "old password 1"}))["errors"]
            assert (
                await http.post(
                    "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {old_token}"}
                )
            ).status_code == 401


async def test_an_expired_or_unknown_token_changes_nothing(database_url: str) -> None:
    async with _serving(_settings(database_url)) as app:
        _, user = await _user(app, "alan", Role.AGENT)
        username, email = user["username"], user["email"]
        transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
        async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as http:
            # Without SMTP the delivery is recorded NOT_SENT, and never holds the link.
            assert (await _post(http, REQUEST, {"email": email}))["data"] == {"passwordResetRequest": True}
            async with app.state.engine.connect() as conn:
                d = t.notification_delivery.c
                (row,) = (await conn.execute(select(d.status, d.text_body).where(d.recipient == email))).all()
            assert row.status == "NOT_SENT"
            assert "/reset/" not in row.text_body
            printed = cli(database_url, "users", "reset-token", "--username", username).stdout.splitlines()
            values = dict(line.split("=", 1) for line in printed if not line.startswith("#"))
            assert values["link"].endswith(f"/portal#/reset/{values['token']}")
            # An hour later:
            async with app.state.engine.begin() as conn:
                await conn.execute(
                    update(t.password_reset)
                    .where(t.password_reset.c.user_id == user["id"])
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
            token = values["token"]
            for candidate in (token, "x" * 43, "short"):
                refused = await _post(http, RESET, {"token": candidate, "new": "new password 2"})
                assert refused["errors"][0]["extensions"]["reason"] == "INVALID_RESET_TOKEN", refused
            assert "errors" not in await _post(
                http, LOG_IN, {"username": username, "password": "old password 1"}
            )
