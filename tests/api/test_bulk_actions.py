"""Bulk actions: by ids or by filter, each RMA order changed in its own transaction exactly as
the single action would, a failure on one never affecting the others; refusals of the whole
run change nothing; a dry run writes nothing; progress is followed live."""

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.domain.access import Role
from tests.api.test_access import user_token
from tests.conftest import GraphQLClient, Server, app_client
from tests.helpers import act, bearer, create, get, snapshot
from tests.ws import SubscriptionClient

BULK = """
mutation($input: RmaOrdersBulkActionInput!) {
  rmaOrdersBulkAction(input: $input) {
    id okCount errorCount
    results { id ok error { code message } rmaOrder { id version processingStatus history { type } } }
  }
}"""
PROGRESS = """
subscription($id: ID!) { bulkActionProgress(id: $id) { id action total done okCount errorCount finished } }
"""


async def bulk(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.data(BULK, {"input": input}))["rmaOrdersBulkAction"]
    return result


def finished(run_id: str, action: str, *, ok: int, errors: int = 0) -> dict[str, Any]:
    """A finished run's last progress, as bulkActionProgress tells it."""
    total = ok + errors
    return {
        "id": run_id,
        "action": action,
        "total": total,
        "done": total,
        "okCount": ok,
        "errorCount": errors,
        "finished": True,
    }


async def submitted(gql: GraphQLClient, count: int) -> list[dict[str, Any]]:
    made = []
    for _ in range(count):
        rma = await create(gql)
        made.append(await act(gql, rma["id"], "submit"))
    return made


async def test_each_rma_order_changes_on_its_own(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str
) -> None:
    ready = await submitted(gql, 3)
    new = await create(gql)
    unknown = str(uuid.uuid4())
    stale = ready[2]
    ids = [rma["id"] for rma in ready] + [new["id"], unknown]
    expected = [{"id": stale["id"], "version": stale["version"] - 1}]
    run = await bulk(gql, action="ACCEPT", ids=ids, expectedVersions=expected)
    assert (run["okCount"], run["errorCount"]) == (2, 3)
    by_id = {item["id"]: item for item in run["results"]}
    assert [item["id"] for item in run["results"]] == ids
    for rma in ready[:2]:
        item = by_id[rma["id"]]
        assert item["ok"]
        assert item["error"] is None
        assert item["rmaOrder"]["processingStatus"] == "ACCEPTED"
        assert item["rmaOrder"]["version"] == rma["version"] + 1
        assert [e["type"] for e in item["rmaOrder"]["history"]].count("ACCEPTED") == 1
    assert by_id[stale["id"]]["error"]["code"] == "CONFLICT"
    assert by_id[new["id"]]["error"]["code"] == "INVALID_TRANSITION"
    assert by_id[unknown]["error"]["code"] == "NOT_FOUND"
    assert all(by_id[i]["rmaOrder"] is None for i in (stale["id"], new["id"], unknown))
    # The refused ones are as they were.
    assert (await get(gql, stale["id"]))["version"] == stale["version"]
    assert (await get(gql, new["id"]))["version"] == new["version"]


async def test_by_filter_with_a_reason(gql: GraphQLClient) -> None:
    ready = await submitted(gql, 2)
    await create(gql)  # NEW: the filter leaves it out
    run = await bulk(gql, action="HOLD", filter={"processingStatus": ["REQUESTED"]}, reason="stock count")
    assert run["okCount"] == 2
    assert sorted(item["id"] for item in run["results"]) == sorted(rma["id"] for rma in ready)
    held = await get(gql, ready[0]["id"])
    assert held["processingStatus"] == "ON_HOLD"
    assert held["history"][-1]["comment"] == "stock count"


async def test_a_dry_run_writes_nothing(
    gql: GraphQLClient, engine: AsyncEngine, organization_id: str
) -> None:
    ready = await submitted(gql, 2)
    ids = [rma["id"] for rma in ready]
    before = await snapshot(engine, organization_id)
    dry = await bulk(gql, action="ACCEPT", ids=ids, dryRun=True)
    assert await snapshot(engine, organization_id) == before
    real = await bulk(gql, action="ACCEPT", ids=ids)
    assert [item["rmaOrder"]["processingStatus"] for item in dry["results"]] == ["ACCEPTED", "ACCEPTED"]
    for dry_item, real_item in zip(dry["results"], real["results"], strict=True):
        assert dry_item["rmaOrder"] == real_item["rmaOrder"]


async def test_refusals_of_the_whole_run_change_nothing(
    gql: GraphQLClient, endpoint: Any, app: Starlette, engine: AsyncEngine, organization_id: str
) -> None:
    ready = await submitted(gql, 1)
    ids = [ready[0]["id"]]
    inspector = await user_token(endpoint, app, organization_id, "bulk-inspector", Role.INSPECTOR)
    customer = await user_token(endpoint, app, organization_id, "bulk-customer", Role.CUSTOMER)
    before = await snapshot(engine, organization_id)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"action": "ACCEPT", "ids": [str(uuid.uuid4())] * 501}, "BAD_USER_INPUT", "input.ids"),
        ({"action": "ACCEPT"}, "BAD_USER_INPUT", "input.ids"),
        ({"action": "ACCEPT", "ids": ids, "filter": {}}, "BAD_USER_INPUT", "input.ids"),
        ({"action": "SET_CUSTOM_STATE", "ids": ids}, "BAD_USER_INPUT", "input.customStateCode"),
        ({"action": "ACCEPT", "ids": ids, "reason": "why"}, "BAD_USER_INPUT", "input.reason"),
    ]
    for input, code, field in cases:
        error = await gql.error(BULK, {"input": input})
        assert (error["extensions"]["code"], error["extensions"].get("field")) == (code, field), error
    base_url, transport = endpoint
    for token, action in ((inspector, "ACCEPT"), (customer, "CANCEL")):
        async with httpx.AsyncClient(base_url=base_url, transport=transport, headers=bearer(token)) as http:
            body = (
                await http.post(
                    "/graphql", json={"query": BULK, "variables": {"input": {"action": action, "ids": ids}}}
                )
            ).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await snapshot(engine, organization_id) == before


async def test_progress_is_followed_live(server: Server, gql: GraphQLClient) -> None:
    ready = await submitted(gql, 3)
    run_id = str(uuid.uuid4())
    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(PROGRESS, {"id": run_id})
    run = await bulk(gql, action="ACCEPT", ids=[rma["id"] for rma in ready] + [str(uuid.uuid4())], id=run_id)
    assert run["id"] == run_id
    seen: list[dict[str, Any]] = []
    while not (seen and seen[-1]["finished"]):
        seen.append((await client.next())["bulkActionProgress"])
    assert seen[-1] == finished(run_id, "ACCEPT", ok=3, errors=1)
    assert [step["done"] for step in seen] == sorted(step["done"] for step in seen)
    assert (await client.receive())["type"] == "complete"
    await client.close()


async def test_a_run_s_progress_is_its_organization_s_alone(server: Server, gql: GraphQLClient) -> None:
    # A run's id is its client's choice: another organization may pick the same one.
    run_id = str(uuid.uuid4())
    ours = await submitted(gql, 2)
    await bulk(gql, action="ACCEPT", ids=[rma["id"] for rma in ours], id=run_id)
    async with app_client(server.app) as them:
        theirs = await submitted(them, 3)
        await bulk(them, action="HOLD", ids=[rma["id"] for rma in theirs], id=run_id)

    client = await SubscriptionClient.open(server.url, token=gql.token)
    await client.subscribe(PROGRESS, {"id": run_id})
    assert (await client.next())["bulkActionProgress"] == finished(run_id, "ACCEPT", ok=2)
    assert (await client.receive())["type"] == "complete"
    await client.close()


async def test_a_large_run_is_as_if_done_one_by_one(gql: GraphQLClient) -> None:
    made = [await create(gql) for _ in range(100)]
    refused = {rma["id"] for rma in made[::14]}  # 8 left NEW
    for rma in made:
        if rma["id"] not in refused:
            await act(gql, rma["id"], "submit")
    run = await bulk(gql, action="ACCEPT", ids=[rma["id"] for rma in made])
    assert (run["okCount"], run["errorCount"]) == (92, 8)
    for item in run["results"]:
        if item["id"] in refused:
            assert item["error"]["code"] == "INVALID_TRANSITION"
        else:
            # Created (1), submitted (2), accepted (3): exactly one ACCEPTED, at version 3.
            assert item["rmaOrder"]["version"] == 3
            assert [e["type"] for e in item["rmaOrder"]["history"]] == ["CREATED", "SUBMITTED", "ACCEPTED"]
