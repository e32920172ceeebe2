"""Personal data: a customer with an account, an order, returns (one with a picture, comments,
reasons, a correction, a stored idempotent answer), webhooks and mails is exported, then
erased; a dump of every table and of the upload folder then holds no copy of its data, while
amounts, SKUs and statuses stay."""

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from starlette.applications import Starlette

from rma_graphql.db import tables as t
from rma_graphql.domain.access import Role
from rma_graphql.service.accounts import create_user
from rma_graphql.service.organizations import create_organization
from tests.api.test_catalog import ORDER, order_input
from tests.api.test_notifications import _serving, _settings
from tests.api.test_returns import return_input
from tests.api.test_uploads import picture
from tests.api.test_webhooks import _client
from tests.conftest import IN_PROCESS_CLIENT, GraphQLClient
from tests.helpers import LOG_IN, action_document

SECRET = uuid.uuid4().hex[:8]
# What is known of the person, each value distinctive enough to be looked for everywhere.
PERSON = {
    "name": f"Zelda Quixote-{SECRET}",
    "email": f"zelda.{SECRET}@example.org",
    "phone": f"+33 6 {SECRET[:4]} 9876",
    "street": f"17 Rue des Lilas {SECRET}",
    "city": f"Montbrison-{SECRET}",
    "zipcode": f"Z{SECRET[:5]}",
    "username": f"zelda-{SECRET}",
    "comment": f"The zip broke on day two {SECRET}",
    "reason": f"waiting for the courier {SECRET}",
    "note": f"left on the doorstep {SECRET}",
    "line": f"scratched near the collar {SECRET}",
    "corrected": f"Zelda Q. Brandywine {SECRET}",
}
CUSTOMER = "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { id } }"
CREATE = """
mutation($input: RmaOrderInput!) {
  rmaOrderCreate(input: $input) { id version sender { fullname email phone } lines { id sku quantity } }
}"""
ERASE = "mutation($id: String!) { customerErase(id: $id) { customerId rmaOrderIds userIds } }"
EXPORT = "query($id: String!) { customerExport(id: $id) }"
GET = """
query($id: String) {
  rmaOrder(id: $id) { version processingStatus amountDue sender { fullname email } comment
    lines { sku quantity price pictures comment } history { type data } }
}"""


async def _dump(engine: Any) -> str:
    """Every row of every table, as text."""
    parts = []
    async with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                for value in row:
                    parts.append(value.decode(errors="replace") if isinstance(value, bytes) else repr(value))
    return "\n".join(parts)


def _found(text: str) -> list[str]:
    folded = text.casefold()
    return [key for key, value in PERSON.items() if value.casefold() in folded]


async def _world(app: Starlette, admin: GraphQLClient, organization_id: str) -> dict[str, Any]:
    address = {
        "address": PERSON["street"],
        "city": PERSON["city"],
        "zipcode": PERSON["zipcode"],
        "country": "FR",
    }
    customer = await admin.data(
        CUSTOMER,
        {
            "input": {
                "name": PERSON["name"],
                "email": PERSON["email"],
                "phone": PERSON["phone"],
                "address": address,
            }
        },
    )
    customer_id = customer["customerCreate"]["id"]
    await admin.data(
        "mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) { endpoint { id } } }",
        {"input": {"url": "http://127.0.0.1:9/hook"}},
    )
    from tests.api.test_catalog import catalog

    await catalog(admin)
    order = (await admin.data(ORDER, {"input": order_input(customer_id, externalReference=f"SO-{SECRET}")}))[
        "orderCreate"
    ]
    lines = await admin.data(
        "query($id: String!) { order(id: $id) { lines { id sku } } }", {"id": order["id"]}
    )
    order_line = lines["order"]["lines"][0]["id"]
    user = await create_user(
        app.state.uow,
        organization_id=organization_id,
        username=PERSON["username"],
        email=PERSON["email"],
        password_hash=await app.state.accounts.hash_password("correct horse"),
        role=Role.CUSTOMER,
    )
    await admin.data(
        "mutation($u: String!, $c: String) { userLinkCustomer(userId: $u, customerId: $c) { id } }",
        {"u": user["id"], "c": customer_id},
    )
    sender = {
        "fullname": PERSON["name"],
        "email": PERSON["email"],
        "phone": PERSON["phone"],
        "city": PERSON["city"],
    }
    transport = httpx.ASGITransport(app=app, client=IN_PROCESS_CLIENT)
    async with httpx.AsyncClient(base_url="http://testserver", transport=transport) as http:
        logged = await _log_in(http)
        http.headers["Authorization"] = f"Bearer {logged['data']['logIn']['token']}"
        uploaded = (
            await http.post("/uploads", files={"file": ("me.png", picture("PNG", "teal"), "image/png")})
        ).json()
        mine = {
            "orderLineId": order_line,
            "quantity": 1,
            "reason": "DEFECTIVE",
            "comment": PERSON["line"],
            "pictures": [uploaded["url"]],
        }
        created = (
            await http.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {"input": return_input(mine, sender=sender, comment=PERSON["comment"])},
                },
            )
        ).json()
        assert "errors" not in created, created
    rma_id = created["data"]["rmaOrderCreate"]["id"]
    # Staff: a second return sent from the person's email, with a key (its answer is kept).
    other = return_input(
        {"sku": "SHIRT-L", "quantity": 1, "reason": "WRONG_ITEM", "price": 20}, sender=sender
    )
    keyed = await admin.http.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": other}},
        headers={"Idempotency-Key": f"k-{SECRET}"},
    )
    assert PERSON["email"] in keyed.text
    await admin.data(action_document("submit"), {"id": rma_id})
    await admin.data(action_document("hold").replace('"waiting"', f'"{PERSON["reason"]}"'), {"id": rma_id})
    await admin.data(
        "mutation($id: String!, $t: String!) { rmaOrderCommentAdd(id: $id, text: $t, visibility: CUSTOMER) { id } }",
        {"id": rma_id, "t": PERSON["note"]},
    )
    await admin.data(
        "mutation($id: String!, $s: RmaContactInput!) { rmaOrderCorrect(id: $id, input: {sender: $s}) { id } }",
        {"id": rma_id, "s": {**sender, "fullname": PERSON["corrected"]}},
    )
    return {"customer_id": customer_id, "rma_id": rma_id, "upload": uploaded["key"], "user_id": user["id"]}


async def _log_in(http: httpx.AsyncClient) -> Any:
    """The person's log-in, answered as it is (a token, or errors once erased)."""
    body = {"query": LOG_IN, "variables": {"username": PERSON["username"], "password": "correct horse"}}
    return (await http.post("/graphql", json=body)).json()


async def _until_delivered(engine: Any, rma_id: str) -> None:
    """The webhooks and mails of the return are recorded (with its data in their bodies)."""
    async with asyncio.timeout(30):
        while True:
            async with engine.connect() as conn:
                hooks = (
                    await conn.execute(
                        select(t.webhook_delivery.c.id).where(t.webhook_delivery.c.rma_order_id == rma_id)
                    )
                ).all()
                mails = (
                    await conn.execute(
                        select(t.notification_delivery.c.id).where(
                            t.notification_delivery.c.rma_order_id == rma_id
                        )
                    )
                ).all()
            if hooks and mails:
                return
            await asyncio.sleep(0.05)


async def test_an_erased_customer_leaves_no_copy(database_url: str) -> None:
    uploads = Path(tempfile.mkdtemp(prefix="rma-erasure-"))
    settings = _settings(
        database_url, webhook_delivery=True, upload_dir=str(uploads), webhook_retry_schedule=(3600,)
    )
    async with _serving(settings) as app:
        organization_id = await create_organization(app.state.uow, f"Shop {SECRET}")
        async with _client(app, organization_id) as admin:
            world = await _world(app, admin, organization_id)
            await _until_delivered(app.state.engine, world["rma_id"])
            assert (uploads / world["upload"]).exists()
            before = await _dump(app.state.engine)
            assert set(_found(before)) == set(PERSON), "the world holds every value before"
            exported = (await admin.data(EXPORT, {"id": world["customer_id"]}))["customerExport"]
            assert set(_found(orjson.dumps(exported).decode())) >= {
                "name",
                "email",
                "phone",
                "street",
                "comment",
                "line",
            }
            assert [rma["id"] for rma in exported["rma_order"] if rma["id"] == world["rma_id"]]

            erased = (await admin.data(ERASE, {"id": world["customer_id"]}))["customerErase"]
            assert world["rma_id"] in erased["rmaOrderIds"]
            assert len(erased["rmaOrderIds"]) == 2
            assert erased["userIds"] == [world["user_id"]]

            after = await _dump(app.state.engine)
            assert _found(after) == [], [
                (key, after[max(0, after.casefold().find(PERSON[key].casefold()) - 200) :][:400])
                for key in _found(after)
            ]
            assert not (uploads / world["upload"]).exists()
            # What accounting needs stays; the erasure is in the history.
            rma = (await admin.data(GET, {"id": world["rma_id"]}))["rmaOrder"]
            assert rma["processingStatus"] == "ON_HOLD"
            assert [(line["sku"], line["quantity"], line["price"]) for line in rma["lines"]] == [
                ("SHIRT-M", 1, 25.5)
            ]
            assert rma["sender"]["fullname"] == "[erased]"
            assert rma["history"][-1]["type"] == "ANONYMIZED"
            assert rma["history"][-1]["data"]["by"]["type"] == "API_CLIENT"
            # The person's account is gone with it.
            assert (await _log_in(admin.http))["errors"]


ANONYMIZE = """
mutation($id: String!, $v: Int) {
  rmaOrderAnonymize(id: $id, expectedVersion: $v) { version comment sender { fullname email } history { type data } }
}"""


async def test_one_return_is_anonymized_and_refusals_change_nothing(
    gql: GraphQLClient, endpoint: Any, app: Starlette, engine: Any, organization_id: str
) -> None:
    from tests.api.test_access import user_token
    from tests.helpers import bearer, create, snapshot

    rma = await create(
        gql, comment=PERSON["comment"], sender={"fullname": PERSON["name"], "email": PERSON["email"]}
    )
    other = await create(gql)
    customer = await user_token(endpoint, app, organization_id, "eraser", Role.CUSTOMER)
    before = await snapshot(engine, organization_id)
    stale = await gql.error(ANONYMIZE, {"id": rma["id"], "v": rma["version"] + 5})
    assert stale["extensions"]["code"] == "CONFLICT"
    unknown = await gql.error(ERASE, {"id": str(uuid.uuid4())})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    base_url, transport = endpoint
    async with httpx.AsyncClient(base_url=base_url, transport=transport, headers=bearer(customer)) as http:
        for query, variables in ((ANONYMIZE, {"id": rma["id"]}), (EXPORT, {"id": str(uuid.uuid4())})):
            body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
            # Erasures and exports are staff's only.
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await snapshot(engine, organization_id) == before
    done = (await gql.data(ANONYMIZE, {"id": rma["id"], "v": rma["version"]}))["rmaOrderAnonymize"]
    assert done["version"] == rma["version"] + 1
    assert (done["comment"], done["sender"]["fullname"], done["sender"]["email"]) == ("[erased]",) * 3
    assert done["history"][-1]["type"] == "ANONYMIZED"
    # Another return keeps its people.
    untouched = (
        await gql.data(
            "query($id: String) { rmaOrder(id: $id) { sender { fullname } version } }", {"id": other["id"]}
        )
    )["rmaOrder"]
    assert untouched == {"sender": {"fullname": "Ada Lovelace"}, "version": other["version"]}
