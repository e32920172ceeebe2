"""Email notifications: the default templates and rules of a new organization send, over
real SMTP (aiosmtpd on loopback), the right mails of a whole return to the right people in
their language with both bodies; a failing or absent SMTP server is retried and nothing is
lost; templates are checked when saved; custom states and staff addresses notify too."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from starlette.applications import Starlette

from rma_graphql.app import create_app
from rma_graphql.config import Settings
from rma_graphql.db.engine import create_engine
from rma_graphql.domain.access import Role
from rma_graphql.service.accounts import create_user
from rma_graphql.service.organizations import create_organization
from tests.api.test_access import customer_input
from tests.api.test_custom_states import CREATE_STATE, SET
from tests.api.test_custom_states import _input as state_input
from tests.api.test_returns import line, return_input, shop
from tests.api.test_warehouse import CREATE, EXECUTE, RESOLVE, get, inspect, receive
from tests.api.test_webhooks import _client as client_of
from tests.conftest import IN_PROCESS_CLIENT, TEST_SETTINGS, GraphQLClient, issued_token
from tests.helpers import LOG_IN, act
from tests.smtp_server import SmtpServer, free_port

PUBLIC_URL = "http://returns.test"
CREATE_ID = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }"
TEMPLATE = "id key translations { language subject text html }"
TEMPLATES = f"{{ notificationTemplates {{ {TEMPLATE} }} }}"
CREATE_TEMPLATE = f"mutation($input: NotificationTemplateInput!) {{ notificationTemplateCreate(input: $input) {{ {TEMPLATE} }} }}"
UPDATE_TEMPLATE = (
    "mutation($id: String!, $input: NotificationTemplateUpdateInput!) "
    f"{{ notificationTemplateUpdate(id: $id, input: $input) {{ {TEMPLATE} }} }}"
)
DELETE_TEMPLATE = "mutation($id: String!) { notificationTemplateDelete(id: $id) }"
RULE = (
    "id name trigger { eventType resolutionType dimension status customStateCode } recipients addresses "
    "templateId enabled"
)
RULES = f"{{ notificationRules {{ {RULE} }} }}"
CREATE_RULE = (
    f"mutation($input: NotificationRuleInput!) {{ notificationRuleCreate(input: $input) {{ {RULE} }} }}"
)
UPDATE_RULE = (
    "mutation($id: String!, $input: NotificationRuleUpdateInput!) "
    f"{{ notificationRuleUpdate(id: $id, input: $input) {{ {RULE} }} }}"
)
DELETE_RULE = "mutation($id: String!) { notificationRuleDelete(id: $id) }"
DELIVERY = (
    "id ruleId templateKey eventType recipient recipientKind language subject textBody htmlBody status "
    "attempts lastError nextAttemptAt completedAt"
)
DELIVERIES = (
    "query($rma: String, $status: NotificationDeliveryStatus) { notificationDeliveries(rmaOrderId: $rma, "
    f"status: $status, first: 100) {{ nodes {{ {DELIVERY} }} }} }}"
)
RETRY = f"mutation($id: String!) {{ notificationDeliveryRetry(id: $id) {{ {DELIVERY} }} }}"
PREVIEW = (
    "query($t: String!, $rma: String!, $language: String) { notificationTemplatePreview(templateId: $t, "
    "rmaOrderId: $rma, language: $language) { language subject text html } }"
)


def _settings(database_url: str, **overrides: Any) -> Settings:
    values = {
        **TEST_SETTINGS,
        "notification_delivery": True,
        "notification_retry_schedule": (0.2, 0.2, 0.2, 0.2),
        "smtp_timeout_seconds": 5.0,
        "public_url": PUBLIC_URL,
        "mail_from": "returns@shop.test",
        **overrides,
    }
    return Settings(database_url=database_url, **values)


async def _only_new_events(database_url: str) -> None:
    """Other tests' organizations share the database: their events are not this test's mail."""
    engine = create_engine(Settings(database_url=database_url))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE notification_cursor SET position = (SELECT last_event_position FROM organization "
                "WHERE organization.id = notification_cursor.organization_id)"
            )
        )
    await engine.dispose()


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[Starlette]:
    await _only_new_events(settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def _client(app: Starlette, scopes: str | None = None) -> AsyncIterator[GraphQLClient]:
    """A client of a new organization's own."""
    organization_id = await create_organization(app.state.uow, f"Shop {uuid.uuid4().hex[:8]}")
    async with client_of(app, organization_id, scopes) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def smtp() -> AsyncIterator[SmtpServer]:
    async with SmtpServer() as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def mailing(database_url: str, smtp: SmtpServer) -> AsyncIterator[Starlette]:
    async with _serving(_settings(database_url, smtp_host="127.0.0.1", smtp_port=smtp.port)) as app:
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def admin(mailing: Starlette) -> AsyncIterator[GraphQLClient]:
    async with _client(mailing) as client:
        yield client


def _address(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@example.com"


def _sender(email: str, language: str | None) -> dict[str, Any]:
    sender: dict[str, Any] = {"fullname": "Ada Lovelace", "email": email}
    if language is not None:
        sender["language"] = language
    return sender


async def _deliveries(gql: GraphQLClient, rma_id: str | None = None, status: str | None = None) -> list[Any]:
    found = await gql.data(DELIVERIES, {"rma": rma_id, "status": status})
    nodes: list[Any] = found["notificationDeliveries"]["nodes"]
    return nodes


async def _to_refund(
    gql: GraphQLClient, sender: dict[str, Any], reference: str = "SO-1001"
) -> dict[str, Any]:
    """An RMA order of a shop's order: submitted, accepted, received, inspected and refunded."""
    made = await shop(gql, reference)
    order_line = made["lines"]["SHIRT-M"]
    rma = (await gql.data(CREATE, {"input": return_input(line(order_line, 1), sender=sender)}))[
        "rmaOrderCreate"
    ]
    for action in ("submit", "accept", "startFulfillment"):
        await act(gql, rma["id"], action)
    rma = await receive(gql, await get(gql, rma["id"]), 0, 1)
    await inspect(gql, rma, 0, 1)
    paid = (await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "REFUND"}}))[
        "rmaFinancialResolutionCreate"
    ]
    await gql.data(EXECUTE, {"id": paid["id"], "reference": f"PSP-{uuid.uuid4().hex[:8]}"})
    return rma


async def _settled(gql: GraphQLClient, rma_id: str, count: int) -> list[Any]:
    """The RMA order's deliveries, once ``count`` of them are settled (sent or failed): a mail
    arrives before its sender records it."""

    async def settled() -> list[Any]:
        found = await _deliveries(gql, rma_id)
        done = [d for d in found if d["status"] in ("SENT", "FAILED")]
        return found if len(done) == count else []

    found: list[Any] = await _until(settled)
    return found


async def test_a_whole_return_mails_the_sender_in_their_language_with_both_bodies(
    admin: GraphQLClient, smtp: SmtpServer, mailing: Starlette
) -> None:
    french = _address("ada")
    rma = await _to_refund(admin, _sender(french, "fr"))

    mails = await smtp.wait_for(lambda _: len(smtp.to(french)) == 4)
    mine = [mail for mail in mails if french in mail.recipients]
    reference = rma["returnReference"]
    assert [mail.subject for mail in mine] == [
        f"Nous avons reçu votre demande de retour {reference}",
        f"Votre retour {reference} est accepté",
        f"Nous avons reçu votre colis pour {reference}",
        f"Votre remboursement de 25,50\xa0€ pour {reference}",
    ]
    for mail in mine:
        assert mail.to == french
        assert mail.message["From"] == "returns@shop.test"
        assert mail.message["Content-Language"] == "fr"
        assert mail.text.startswith("Bonjour Ada Lovelace,")
        assert '<html lang="fr">' in mail.html
        assert reference in mail.text
        assert reference in mail.html
    assert "1 × Shirt M" in mine[0].text
    assert "<li>1 × Shirt M</li>" in mine[0].html
    assert "25,50\xa0€" in mine[3].text

    # The accepted mail carries the slip's link, and the link serves the slip.
    slip = next(word for word in mine[1].text.split() if word.startswith(PUBLIC_URL))
    assert slip.startswith(f"{PUBLIC_URL}/return-slips/{rma['id']}.pdf?expires=")
    assert slip.replace("&", "&amp;") in mine[1].html
    parts = urlsplit(slip)
    transport = httpx.ASGITransport(app=mailing, client=IN_PROCESS_CLIENT)
    async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as http:
        answer = await http.get(f"{parts.path}?{parts.query}")
    assert (answer.status_code, answer.headers["content-type"]) == (200, "application/pdf")

    delivered = await _settled(admin, rma["id"], 4)
    assert sorted(d["templateKey"] for d in delivered) == [
        "rma_accepted",
        "rma_received",
        "rma_refunded",
        "rma_submitted",
    ]
    assert {(d["status"], d["recipient"], d["recipientKind"], d["language"]) for d in delivered} == {
        ("SENT", french, "SENDER", "fr")
    }
    assert all(d["attempts"] == 1 and d["lastError"] is None for d in delivered)


async def test_each_recipient_reads_their_own_language_and_rules_pick_the_recipients(
    admin: GraphQLClient, smtp: SmtpServer
) -> None:
    english, owner, staff = _address("sam"), _address("olga"), _address("desk")
    templates = {t["key"]: t["id"] for t in (await admin.data(TEMPLATES))["notificationTemplates"]}
    rule = {
        "name": "Rejections to the owner and the desk",
        "trigger": {"dimension": "PROCESSING", "status": "REJECTED"},
        "templateId": templates["rma_rejected"],
        "recipients": ["OWNER"],
        "addresses": [staff],
    }
    await admin.data(CREATE_RULE, {"input": rule})
    await admin.data('mutation { organizationUpdate(input: {defaultLanguage: "fr"}) { defaultLanguage } }')

    made = await shop(admin)
    owner_contact = {"fullname": "Olga", "email": owner, "language": "en-GB"}
    created = await admin.data(
        CREATE,
        {
            "input": return_input(
                line(made["lines"]["SHIRT-M"], 1), sender=_sender(english, "en"), owner=owner_contact
            )
        },
    )
    rma_id = created["rmaOrderCreate"]["id"]
    await act(admin, rma_id, "submit")
    await act(admin, rma_id, "reject")

    await smtp.wait_for(lambda _: len(smtp.to(english)) == 2 and smtp.to(owner) and smtp.to(staff))
    assert [m.subject.split(" RMA-")[0] for m in smtp.to(english)] == [
        "We received your return request",
        "Your return",
    ]
    rejected = smtp.to(english)[1]
    assert "Reason: not eligible" in rejected.text
    assert "Reason: not eligible" in rejected.html
    # The owner's language is its own; the desk reads the organization's default language.
    assert smtp.to(owner)[0].message["Content-Language"] == "en"
    assert "declined" in smtp.to(owner)[0].subject
    assert smtp.to(staff)[0].message["Content-Language"] == "fr"
    assert "Motif : not eligible" in smtp.to(staff)[0].text
    kinds = {(d["recipient"], d["recipientKind"]) for d in await _deliveries(admin, rma_id)}
    assert kinds == {(english, "SENDER"), (owner, "OWNER"), (staff, "STAFF")}


HISTORY = 'query($id: String) { rmaOrder(id: $id) { history { type message(language: "en") } } }'


async def test_a_voucher_mail_carries_its_code_and_a_custom_state_notifies(
    admin: GraphQLClient, smtp: SmtpServer
) -> None:
    sender, staff = _address("vic"), _address("repairs")
    await admin.data(CREATE_STATE, {"input": state_input("AT_REPAIR")})
    template = {
        "key": "state_reached",
        "translations": [
            {
                "language": "en",
                "subject": "{{ reference }}: {{ custom_state }}",
                "text": "Now {{ custom_state }} ({{ custom_state_code }}): {{ event.message }}",
                "html": "<p>Now {{ custom_state }}</p>",
            },
            {
                "language": "fr",
                "subject": "{{ reference }} : {{ custom_state }}",
                "text": "Désormais {{ custom_state }}.",
                "html": "<p>Désormais {{ custom_state }}</p>",
            },
        ],
    }
    created = (await admin.data(CREATE_TEMPLATE, {"input": template}))["notificationTemplateCreate"]
    rule = {
        "name": "At repair",
        "trigger": {"customStateCode": "AT_REPAIR"},
        "templateId": created["id"],
        "addresses": [staff],
    }
    await admin.data(CREATE_RULE, {"input": rule})

    made = await shop(admin)
    input = return_input(
        line(made["lines"]["SHIRT-M"], 2), sender=_sender(sender, None), expectedResolution="VOUCHER"
    )
    rma = (await admin.data(CREATE, {"input": input}))["rmaOrderCreate"]
    for action in ("submit", "accept"):
        await act(admin, rma["id"], action)
    await admin.data(SET, {"id": rma["id"], "code": "AT_REPAIR"})
    await act(admin, rma["id"], "startFulfillment")
    rma = await receive(admin, await get(admin, rma["id"]), 0, 2)
    await inspect(admin, rma, 0, 2)
    voucher = (await admin.data(RESOLVE, {"id": rma["id"], "input": {"type": "VOUCHER"}}))[
        "rmaFinancialResolutionCreate"
    ]
    await admin.data(EXECUTE, {"id": voucher["id"]})
    code = (await get(admin, rma["id"]))["financialResolutions"][0]["reference"]

    await smtp.wait_for(lambda _: len(smtp.to(sender)) == 4 and smtp.to(staff))
    state_mail = smtp.to(staff)[0]
    assert state_mail.subject == f"{rma['returnReference']}: Waiting for the supplier"
    history = (await admin.data(HISTORY, {"id": rma["id"]}))["rmaOrder"]["history"]
    [sentence] = [event["message"] for event in history if event["type"] == "CUSTOM_STATE_CHANGED"]
    assert sentence.startswith("State set to AT_REPAIR by "), sentence
    assert state_mail.text == f"Now Waiting for the supplier (AT_REPAIR): {sentence}\n"
    voucher_mail = smtp.to(sender)[3]
    assert voucher_mail.subject == f"Your voucher of €51.00 for {rma['returnReference']}"
    assert f"Code: {code} (valid until " in voucher_mail.text
    assert code in voucher_mail.html


async def test_a_failing_smtp_server_is_retried_and_nothing_is_lost(
    admin: GraphQLClient, smtp: SmtpServer
) -> None:
    sender = _address("retry")
    smtp.refuse_next[sender] = 2
    made = await shop(admin)
    rma = (
        await admin.data(
            CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), sender=_sender(sender, "en"))}
        )
    )["rmaOrderCreate"]
    await act(admin, rma["id"], "submit")

    mails = await smtp.wait_for(lambda _: len(smtp.to(sender)) == 1)
    assert smtp.refused == {sender: 2}
    assert len([m for m in mails if sender in m.recipients]) == 1
    delivered = await _settled(admin, rma["id"], 1)
    assert [(d["status"], d["attempts"]) for d in delivered] == [("SENT", 3)]
    assert delivered[0]["lastError"] is None


async def test_a_server_away_then_back_sends_what_waited(database_url: str) -> None:
    port = free_port()
    settings = _settings(
        database_url, smtp_host="127.0.0.1", smtp_port=port, notification_retry_schedule=(0.3,) * 20
    )
    sender = _address("later")
    async with _serving(settings) as app, _client(app) as gql:
        made = await shop(gql)
        created = await gql.data(
            CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), sender=_sender(sender, "en"))}
        )
        rma_id = created["rmaOrderCreate"]["id"]
        await act(gql, rma_id, "submit")

        async def tried() -> list[Any]:
            found = await _deliveries(gql, rma_id)
            return found if found and found[0]["attempts"] >= 1 else []

        waited = await _until(tried)
        assert waited[0]["status"] == "PENDING"
        assert "Connect" in waited[0]["lastError"] or "connect" in waited[0]["lastError"]
        async with SmtpServer(port=port) as smtp:
            await smtp.wait_for(lambda _: len(smtp.to(sender)) == 1)
            delivered = await _settled(gql, rma_id, 1)
        assert delivered[0]["status"] == "SENT"
        assert delivered[0]["attempts"] >= 2


async def _until(probe: Any, within: float = 30) -> Any:
    """Ask ``probe`` until it answers something: a condition the test reads through the API."""
    async with asyncio.timeout(within):
        while True:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.05)


async def test_without_an_smtp_server_notifications_are_recorded_not_sent(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sender = _address("nobody")
    with caplog.at_level("WARNING", logger="rma_graphql.notifications"):
        async with _serving(_settings(database_url)) as app, _client(app) as gql:
            made = await shop(gql)
            created = await gql.data(
                CREATE,
                {"input": return_input(line(made["lines"]["SHIRT-M"], 1), sender=_sender(sender, "fr"))},
            )
            rma_id = created["rmaOrderCreate"]["id"]
            await act(gql, rma_id, "submit")
            recorded = await _until(lambda: _deliveries(gql, rma_id))
    assert "no SMTP server is set" in caplog.text
    assert [(d["status"], d["attempts"], d["language"]) for d in recorded] == [("NOT_SENT", 0, "fr")]
    assert "RMA_SMTP_HOST" in recorded[0]["lastError"]
    assert recorded[0]["subject"].startswith("Nous avons reçu votre demande de retour")


async def test_a_template_is_checked_when_saved_and_a_refusal_changes_nothing(admin: GraphQLClient) -> None:
    before = await admin.data(TEMPLATES)

    def template(
        subject: str = "{{ reference }}", text: str = "Hi", html: str = "<p>Hi</p>"
    ) -> dict[str, Any]:
        return {
            "key": "broken",
            "translations": [
                {"language": "en", "subject": "Fine {{ reference }}", "text": "ok", "html": "ok"},
                {"language": "fr", "subject": subject, "text": text, "html": html},
            ],
        }

    syntax = await admin.error(
        CREATE_TEMPLATE, {"input": template(text="Bonjour\nà bientôt\n{{ reference }")}
    )
    unknown = await admin.error(CREATE_TEMPLATE, {"input": template(html="<p>\n\n{{ refrence }}</p>")})
    attribute = await admin.error(CREATE_TEMPLATE, {"input": template(subject="{{ voucher.codee }}")})
    unsafe = await admin.error(CREATE_TEMPLATE, {"input": template(text="{{ reference.__class__.__mro__ }}")})

    for error in (syntax, unknown, attribute, unsafe):
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["language"] == "fr"
    assert (syntax["extensions"]["part"], syntax["extensions"]["line"]) == ("text", 3)
    assert syntax["extensions"]["field"] == "input.translations[1].text"
    assert (unknown["extensions"]["part"], unknown["extensions"]["line"]) == ("html", 3)
    assert "unknown variable 'refrence'" in unknown["message"]
    assert (attribute["extensions"]["part"], attribute["extensions"]["line"]) == ("subject", 1)
    assert "codee" in attribute["message"]
    assert unsafe["extensions"]["part"] == "text"
    assert await admin.data(TEMPLATES) == before


async def test_templates_and_rules_are_managed_and_previewed(admin: GraphQLClient) -> None:
    templates = (await admin.data(TEMPLATES))["notificationTemplates"]
    assert sorted(t["key"] for t in templates) == [
        "rma_accepted",
        "rma_received",
        "rma_refunded",
        "rma_rejected",
        "rma_submitted",
        "rma_voucher_issued",
    ]
    assert all(sorted(tr["language"] for tr in t["translations"]) == ["en", "fr"] for t in templates)
    rules = (await admin.data(RULES))["notificationRules"]
    assert len(rules) == 6
    assert all(r["recipients"] == ["SENDER"] and r["enabled"] for r in rules)
    refund = next(r for r in rules if r["trigger"]["resolutionType"] == "REFUND")
    assert refund["trigger"]["eventType"] == "FINANCIAL_RESOLUTION_EXECUTED"

    # A template in use is not deleted, and stays.
    accepted = next(t for t in templates if t["key"] == "rma_accepted")
    in_use = await admin.error(DELETE_TEMPLATE, {"id": accepted["id"]})
    assert in_use["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Return accepted" in in_use["message"]
    assert len((await admin.data(TEMPLATES))["notificationTemplates"]) == 6

    # Refused rules change nothing.
    for bad, field in (
        ({"eventType": "ACCEPTED", "customStateCode": "X"}, "input.trigger"),
        ({"dimension": "FINANCIAL", "status": "ACCEPTED"}, "input.trigger.status"),
        ({"eventType": "ACCEPTED", "resolutionType": "REFUND"}, "input.trigger.resolutionType"),
        ({"customStateCode": "NO_SUCH_STATE"}, "input.trigger.customStateCode"),
    ):
        refused = await admin.error(
            CREATE_RULE,
            {
                "input": {
                    "name": "bad",
                    "trigger": bad,
                    "templateId": accepted["id"],
                    "recipients": ["SENDER"],
                }
            },
        )
        assert (refused["extensions"]["code"], refused["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    nobody = await admin.error(
        CREATE_RULE,
        {"input": {"name": "bad", "trigger": {"eventType": "ACCEPTED"}, "templateId": accepted["id"]}},
    )
    assert nobody["extensions"]["field"] == "input.recipients"
    not_an_address = await admin.error(
        CREATE_RULE,
        {
            "input": {
                "name": "bad",
                "trigger": {"eventType": "ACCEPTED"},
                "templateId": accepted["id"],
                "addresses": ["a@b"],
            }
        },
    )
    assert not_an_address["extensions"]["field"] == "input.recipients.addresses"
    assert len((await admin.data(RULES))["notificationRules"]) == 6

    # Update and delete.
    updated = (
        await admin.data(
            UPDATE_RULE, {"id": refund["id"], "input": {"enabled": False, "addresses": ["fin@shop.test"]}}
        )
    )["notificationRuleUpdate"]
    assert (updated["enabled"], updated["recipients"], updated["addresses"]) == (
        False,
        ["SENDER", "STAFF"],
        ["fin@shop.test"],
    )
    changed = (await admin.data(UPDATE_TEMPLATE, {"id": accepted["id"], "input": {"key": "accepted_v2"}}))[
        "notificationTemplateUpdate"
    ]
    assert changed["key"] == "accepted_v2"
    assert changed["translations"] == accepted["translations"]
    assert (await admin.data(DELETE_RULE, {"id": refund["id"]}))["notificationRuleDelete"] == refund["id"]
    assert len((await admin.data(RULES))["notificationRules"]) == 5

    # A preview renders on a real RMA order without sending.
    made = await shop(admin)
    rma = (await admin.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), accept=True)}))[
        "rmaOrderCreate"
    ]
    preview = (await admin.data(PREVIEW, {"t": accepted["id"], "rma": rma["id"], "language": "fr-CA"}))[
        "notificationTemplatePreview"
    ]
    assert preview["language"] == "fr"
    assert preview["subject"] == f"Votre retour {rma['returnReference']} est accepté"
    assert f"{PUBLIC_URL}/return-slips/{rma['id']}.pdf?expires=" in preview["text"]
    english = (await admin.data(PREVIEW, {"t": accepted["id"], "rma": rma["id"]}))[
        "notificationTemplatePreview"
    ]
    assert english["language"] == "en"
    assert english["subject"].startswith("Your return")


async def test_notifications_need_their_scopes(mailing: Starlette) -> None:
    async with _client(mailing, "view_rma_orders") as gql:
        for document in (TEMPLATES, RULES, "{ notificationDeliveries { nodes { id } } }"):
            assert (await gql.error(document))["extensions"]["code"] == "FORBIDDEN"
    async with _client(mailing, "view_notifications") as gql:
        assert len((await gql.data(TEMPLATES))["notificationTemplates"]) == 6
        refused = await gql.error(
            CREATE_TEMPLATE,
            {
                "input": {
                    "key": "x",
                    "translations": [{"language": "en", "subject": "s", "text": "t", "html": "h"}],
                }
            },
        )
        assert refused["extensions"]["code"] == "FORBIDDEN"


async def test_a_delivery_is_sent_again_on_request(admin: GraphQLClient, smtp: SmtpServer) -> None:
    sender = _address("again")
    made = await shop(admin)
    rma = (
        await admin.data(
            CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), sender=_sender(sender, "en"))}
        )
    )["rmaOrderCreate"]
    await act(admin, rma["id"], "submit")
    await smtp.wait_for(lambda _: len(smtp.to(sender)) == 1)
    sent = await _until(lambda: _deliveries(admin, rma["id"], "SENT"))

    again = (await admin.data(RETRY, {"id": sent[0]["id"]}))["notificationDeliveryRetry"]
    assert (again["status"], again["attempts"]) == ("PENDING", 0)
    mails = await smtp.wait_for(lambda _: len(smtp.to(sender)) == 2)
    twice = [m for m in mails if sender in m.recipients]
    assert twice[0].message["Message-ID"] == twice[1].message["Message-ID"]
    missing = await admin.error(RETRY, {"id": str(uuid.uuid4())})
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_a_contact_email_no_mail_can_carry_is_a_failed_delivery_not_a_stuck_one(
    admin: GraphQLClient, smtp: SmtpServer
) -> None:
    made = await shop(admin)
    bad = {"fullname": "Nemo", "email": "nemo at example dot com"}
    created = await admin.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), sender=bad)})
    rma_id = created["rmaOrderCreate"]["id"]
    await act(admin, rma_id, "submit")

    delivered = await _settled(admin, rma_id, 1)
    assert [(d["status"], d["attempts"], d["subject"]) for d in delivered] == [("FAILED", 0, "")]
    assert "is not an email address" in delivered[0]["lastError"]
    refused = await admin.error(RETRY, {"id": delivered[0]["id"]})
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _deliveries(admin, rma_id))[0]["status"] == "FAILED"


async def test_the_customer_account_is_told_in_its_catalog_customers_language(
    mailing: Starlette, smtp: SmtpServer
) -> None:
    organization_id = await create_organization(mailing.state.uow, f"Shop {uuid.uuid4().hex[:8]}")
    carla, username = _address("carla"), f"carla-{uuid.uuid4().hex[:8]}"
    await create_user(
        mailing.state.uow,
        organization_id=organization_id,
        username=username,
        email=carla,
        password_hash=await mailing.state.accounts.hash_password("correct horse"),
        role=Role.CUSTOMER,
    )
    staff_token = await issued_token(mailing, organization_id)
    transport = httpx.ASGITransport(app=mailing, client=IN_PROCESS_CLIENT)

    def http(token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            base_url="http://testserver", transport=transport, headers=headers, timeout=60
        )

    async with http() as anonymous:
        variables = {"username": username, "password": "correct horse"}
        logged_in = await anonymous.post("/graphql", json={"query": LOG_IN, "variables": variables})
    async with http(logged_in.json()["data"]["logIn"]["token"]) as as_customer, http(staff_token) as as_staff:
        customer, staff = GraphQLClient(as_customer), GraphQLClient(as_staff)
        await staff.data(
            'mutation($email: String) { customerCreate(input: {name: "Carla", email: $email, language: "fr"}) { id } }',
            {"email": carla.upper()},
        )
        templates = {t["key"]: t["id"] for t in (await staff.data(TEMPLATES))["notificationTemplates"]}
        rule = {
            "name": "To the account",
            "trigger": {"eventType": "SUBMITTED"},
            "templateId": templates["rma_submitted"],
            "recipients": ["CUSTOMER"],
        }
        await staff.data(CREATE_RULE, {"input": rule})
        own = customer_input(sender=_sender(_address("parcel-desk"), "en"))
        rma_id = (await customer.data(CREATE_ID, {"input": own}))["rmaOrderCreate"]["id"]
        await act(customer, rma_id, "submit")

        await smtp.wait_for(lambda _: len(smtp.to(carla)) == 1)
        assert smtp.to(carla)[0].subject.startswith("Nous avons reçu votre demande de retour")
        kinds = {(d["recipientKind"], d["language"]) for d in await _settled(staff, rma_id, 2)}
    assert kinds == {("CUSTOMER", "fr"), ("SENDER", "en")}
