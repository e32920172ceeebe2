"""Concurrent changes to one RMA: one shared client with warmed connections, requests
released together, repeated. Exactly the allowed number apply, on both databases."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.helpers import rma_input

CONCURRENCY = 20
ROUNDS = 5
CREATE = "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id returnNumber } }"
ACCEPT = "mutation($id: String!) { rmaOrderAccept(id: $id) { version } }"
SUBMIT = "mutation($id: String!) { rmaOrderSubmit(id: $id) { version } }"
GET = "query($id: String) { rmaOrder(id: $id) { version processingStatus history { sequence version } } }"


async def _warm(client: httpx.AsyncClient) -> None:
    await asyncio.gather(*(client.get("/healthz") for _ in range(CONCURRENCY)))


async def _fire_together(client: httpx.AsyncClient, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gate = asyncio.Event()

    async def one(payload: dict[str, Any]) -> dict[str, Any]:
        await gate.wait()
        response = await client.post("/graphql", json=payload)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    tasks = [asyncio.create_task(one(p)) for p in payloads]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


@pytest.fixture
async def shared_client(server: Server, admin_token: str) -> Any:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120, headers=headers) as client:
        await _warm(client)
        yield client


async def test_twenty_concurrent_accepts_apply_once(shared_client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        created = (
            await shared_client.post("/graphql", json={"query": CREATE, "variables": {"input": rma_input()}})
        ).json()
        rma_id = created["data"]["rmaOrderCreate"]["id"]
        await shared_client.post("/graphql", json={"query": SUBMIT, "variables": {"id": rma_id}})

        results = await _fire_together(
            shared_client, [{"query": ACCEPT, "variables": {"id": rma_id}}] * CONCURRENCY
        )

        applied = [r for r in results if r.get("data") and r["data"]["rmaOrderAccept"]]
        refused = [r["errors"][0]["extensions"]["code"] for r in results if r.get("errors")]
        assert len(applied) == 1
        assert len(refused) == CONCURRENCY - 1
        assert set(refused) <= {"CONFLICT", "INVALID_TRANSITION"}
        final = (
            await shared_client.post("/graphql", json={"query": GET, "variables": {"id": rma_id}})
        ).json()["data"]["rmaOrder"]
        assert final["version"] == 2 + len(applied)
        assert final["processingStatus"] == "ACCEPTED"
        assert [e["sequence"] for e in final["history"]] == [1, 2, 3]


async def test_concurrent_holds_and_cancels_never_both_apply(shared_client: httpx.AsyncClient) -> None:
    for _ in range(ROUNDS):
        created = (
            await shared_client.post(
                "/graphql", json={"query": CREATE, "variables": {"input": rma_input(accept=True)}}
            )
        ).json()
        rma_id = created["data"]["rmaOrderCreate"]["id"]
        hold = {
            "query": "mutation($id: String!) { rmaOrderHold(id: $id) { version } }",
            "variables": {"id": rma_id},
        }
        cancel = {
            "query": "mutation($id: String!) { rmaOrderCancel(id: $id) { version } }",
            "variables": {"id": rma_id},
        }

        results = await _fire_together(shared_client, [hold, cancel] * (CONCURRENCY // 2))

        applied = [r for r in results if r.get("data")]
        final = (
            await shared_client.post("/graphql", json={"query": GET, "variables": {"id": rma_id}})
        ).json()["data"]["rmaOrder"]
        # From ACCEPTED: hold then cancel (held from ACCEPTED) may both apply, in that order;
        # nothing else can follow a cancel.
        assert 1 <= len(applied) <= 2
        assert final["version"] == 1 + len(applied)
        assert [e["version"] for e in final["history"]][-len(applied) :] == list(range(2, 2 + len(applied)))
        assert {r["errors"][0]["extensions"]["code"] for r in results if r.get("errors")} <= {
            "CONFLICT",
            "INVALID_TRANSITION",
        }


async def test_concurrent_creates_get_distinct_gapless_return_numbers(
    shared_client: httpx.AsyncClient,
) -> None:
    payloads = [
        {"query": CREATE, "variables": {"input": rma_input(externalId=f"E-{i}")}} for i in range(CONCURRENCY)
    ]

    results = await _fire_together(shared_client, payloads)

    numbers = sorted(r["data"]["rmaOrderCreate"]["returnNumber"] for r in results)
    assert numbers == list(range(1001, 1001 + CONCURRENCY))


async def test_concurrent_duplicate_external_ids_create_one(shared_client: httpx.AsyncClient) -> None:
    payloads = [{"query": CREATE, "variables": {"input": rma_input(externalId="SAME", tpAppId="shop")}}] * 10

    results = await _fire_together(shared_client, payloads)

    created = [r["data"]["rmaOrderCreate"] for r in results if r.get("data")]
    refused = [r["errors"][0]["extensions"] for r in results if r.get("errors")]
    assert len(created) == 1
    assert {e["code"] for e in refused} == {"BAD_USER_INPUT"}
    assert {e["existingId"] for e in refused} == {created[0]["id"]}


COMMENT = """
mutation($id: String!, $text: String!) {
  rmaOrderCommentAdd(id: $id, text: $text) {
    version comments { text } history(first: 500) { version comment }
  }
}"""


async def test_each_concurrent_change_answers_with_the_version_it_made(
    shared_client: httpx.AsyncClient,
) -> None:
    created = (
        await shared_client.post("/graphql", json={"query": CREATE, "variables": {"input": rma_input()}})
    ).json()
    rma_id = created["data"]["rmaOrderCreate"]["id"]
    for round_number in range(ROUNDS):
        texts = [f"round {round_number} note {i}" for i in range(CONCURRENCY)]

        results = await _fire_together(
            shared_client,
            [{"query": COMMENT, "variables": {"id": rma_id, "text": text}} for text in texts],
        )

        answers = [r["data"]["rmaOrderCommentAdd"] for r in results if r.get("data")]
        assert all(r["errors"][0]["extensions"]["code"] == "CONFLICT" for r in results if not r.get("data"))
        assert answers, results
        # Each answer is the RMA as of its own change: its comment is the last one it shows,
        # and its history ends at its own version, so no two answers share a version.
        for text, result in zip(texts, results, strict=True):
            if result.get("data"):
                answer = result["data"]["rmaOrderCommentAdd"]
                assert answer["comments"][-1]["text"] == text
                assert answer["history"][-1]["version"] == answer["version"]
        assert len({answer["version"] for answer in answers}) == len(answers)


async def test_a_change_committed_before_the_answer_is_read_does_not_leak_into_it(
    server: Server, shared_client: httpx.AsyncClient, organization_id: str
) -> None:
    from contextlib import asynccontextmanager

    from rma_graphql.domain.statuses import CommentVisibility
    from rma_graphql.service.organizations import admin_caller
    from rma_graphql.service.rma_orders import add_comment

    created = (
        await shared_client.post("/graphql", json={"query": CREATE, "variables": {"input": rma_input()}})
    ).json()
    rma_id = created["data"]["rmaOrderCreate"]["id"]
    uow = server.app.state.uow
    original = uow.transaction
    armed = True

    @asynccontextmanager
    async def then_another_change(*args: Any) -> Any:
        # Right after the mutation under test commits, and before its answer is read,
        # another writer commits a change to the same RMA.
        nonlocal armed
        async with original(*args) as conn:
            yield conn
        if armed:
            armed = False
            # Another request: a task of its own.
            another = add_comment(
                uow, admin_caller(organization_id), rma_id, "meanwhile", CommentVisibility.INTERNAL
            )
            await asyncio.create_task(another)

    uow.transaction = then_another_change
    try:
        answer = (
            await shared_client.post(
                "/graphql", json={"query": COMMENT, "variables": {"id": rma_id, "text": "mine"}}
            )
        ).json()["data"]["rmaOrderCommentAdd"]
    finally:
        del uow.transaction
    current = (await shared_client.post("/graphql", json={"query": GET, "variables": {"id": rma_id}})).json()

    assert armed is False
    assert current["data"]["rmaOrder"]["version"] == 3
    assert answer["version"] == 2
    assert [c["text"] for c in answer["comments"]] == ["mine"]
    assert answer["history"][-1]["version"] == 2


async def test_concurrent_configurations_of_one_location_create_one(shared_client: httpx.AsyncClient) -> None:
    configure = "mutation($l: String!) { rmaConfigurationCreate(input: {locationId: $l, portalIsActive: true}) { id } }"
    for round_number in range(ROUNDS):
        location = (
            await shared_client.post(
                "/graphql",
                json={
                    "query": "mutation($n: String!) { locationCreate(input: {name: $n, type: WAREHOUSE}) { id } }",
                    "variables": {"n": f"Depot {round_number}"},
                },
            )
        ).json()["data"]["locationCreate"]["id"]

        results = await _fire_together(
            shared_client, [{"query": configure, "variables": {"l": location}}] * CONCURRENCY
        )

        created = [r for r in results if r.get("data")]
        refused = [r["errors"][0] for r in results if not r.get("data")]
        assert len(created) == 1, results
        assert {(e["extensions"]["code"], e["extensions"]["field"]) for e in refused} == {
            ("BAD_USER_INPUT", "input.locationId")
        }
        assert all("already has an RMA configuration" in e["message"] for e in refused)


async def test_concurrent_stock_settings_of_a_new_location_all_apply(
    shared_client: httpx.AsyncClient,
) -> None:
    async def data(query: str, variables: dict[str, Any]) -> Any:
        body = (await shared_client.post("/graphql", json={"query": query, "variables": variables})).json()
        assert "errors" not in body, body
        return body["data"]

    product = (await data('mutation { productCreate(input: {name: "Cap", price: 10}) { id } }', {}))[
        "productCreate"
    ]
    set_stock = (
        "mutation($id: String!, $s: [StockLevelInput!]) { skuUpdate(id: $id, input: {stock: $s}) { id } }"
    )
    for round_number in range(ROUNDS):
        sku = (
            await data(
                "mutation($p: String!, $c: String!) { skuCreate(input: {productId: $p, sku: $c}) { id } }",
                {"p": product["id"], "c": f"CAP-{round_number}"},
            )
        )["skuCreate"]["id"]
        location = (
            await data(
                "mutation($n: String!) { locationCreate(input: {name: $n, type: WAREHOUSE}) { id } }",
                {"n": f"Shop {round_number}"},
            )
        )["locationCreate"]["id"]

        results = await _fire_together(
            shared_client,
            [
                {"query": set_stock, "variables": {"id": sku, "s": [{"locationId": location, "quantity": q}]}}
                for q in range(1, CONCURRENCY + 1)
            ],
        )
        stock = (await data("query($id: String!) { sku(id: $id) { stock { quantity } } }", {"id": sku}))[
            "sku"
        ]

        assert [r.get("errors") for r in results] == [None] * CONCURRENCY
        [level] = stock["stock"]
        assert 1 <= level["quantity"] <= CONCURRENCY
