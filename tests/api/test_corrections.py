"""Staff corrections after submit: contacts, comment, meta and external reference change in
any open processing status, with one CORRECTED event listing each field before and after;
lines and money stay; customers and closed RMA orders are refused, and a refusal changes
nothing."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from rma_graphql.domain.access import Role
from tests.api.test_access import user_token
from tests.conftest import GraphQLClient
from tests.helpers import act, bearer, create, snapshot

CORRECT = """
mutation($id: String!, $input: RmaOrderCorrectionInput!, $expectedVersion: Int, $dryRun: Boolean) {
  rmaOrderCorrect(id: $id, input: $input, expectedVersion: $expectedVersion, dryRun: $dryRun) {
    id version processingStatus comment meta externalReference
    sender { fullname email } owner { fullname }
    lines { sku quantity price }
    history { type version data message(language: "en") }
  }
}"""
SEARCH = "query($s: String!) { rmaOrders(filter: {search: $s}) { nodes { id } } }"


async def correct(gql: GraphQLClient, rma_id: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.data(CORRECT, {"id": rma_id, **variables}))["rmaOrderCorrect"]
    return result


async def test_staff_correct_details_after_submit(gql: GraphQLClient) -> None:
    rma = await create(gql, comment="first words", meta={"channel": "web"})
    rma = await act(gql, rma["id"], "submit")
    rma = await act(gql, rma["id"], "accept")
    fixed = await correct(
        gql,
        rma["id"],
        input={
            "sender": {"fullname": "Ada King", "email": "ada.king@example.com"},
            "comment": "first words, corrected",
            "meta": {"channel": "phone"},
            "externalReference": "TICKET-77",
        },
        expectedVersion=rma["version"],
    )
    assert fixed["version"] == rma["version"] + 1
    assert fixed["processingStatus"] == "ACCEPTED"
    assert fixed["sender"] == {"fullname": "Ada King", "email": "ada.king@example.com"}
    assert (fixed["comment"], fixed["meta"], fixed["externalReference"]) == (
        "first words, corrected",
        {"channel": "phone"},
        "TICKET-77",
    )
    assert [line["quantity"] for line in fixed["lines"]] == [line["quantity"] for line in rma["lines"]]
    event = fixed["history"][-1]
    assert event["type"] == "CORRECTED"
    assert event["version"] == fixed["version"]
    assert event["message"].startswith("Details corrected by")
    fields = {item["field"]: (item["before"], item["after"]) for item in event["data"]["fields"]}
    sender_before, sender_after = fields.pop("sender")
    assert (sender_before["fullname"], sender_before["email"]) == ("Ada Lovelace", "ada@example.com")
    assert (sender_after["fullname"], sender_after["email"]) == ("Ada King", "ada.king@example.com")
    assert fields == {
        "comment": ("first words", "first words, corrected"),
        "meta": ({"channel": "web"}, {"channel": "phone"}),
        "externalReference": (None, "TICKET-77"),
    }
    # The search follows the corrected sender.
    found = (await gql.data(SEARCH, {"s": "ada.king@example"}))["rmaOrders"]["nodes"]
    assert [node["id"] for node in found] == [rma["id"]]
    # A correction that changes nothing records nothing.
    same = await correct(gql, rma["id"], input={"comment": "first words, corrected"})
    assert same["version"] == fixed["version"]
    assert len(same["history"]) == len(fixed["history"])


async def test_corrections_are_refused_and_change_nothing(
    gql: GraphQLClient, endpoint: Any, app: Starlette, engine: AsyncEngine, organization_id: str
) -> None:
    canceled = await create(gql)
    await act(gql, canceled["id"], "cancel")
    customer = await user_token(endpoint, app, organization_id, "corrector", Role.CUSTOMER)
    base_url, transport = endpoint
    async with httpx.AsyncClient(base_url=base_url, transport=transport, headers=bearer(customer)) as http:
        # A customer's own RMA order: it may update it while NEW, never correct it.
        rma = await create(
            GraphQLClient(http), lines=[{"sku": "SKU-RED-M", "quantity": 1, "reason": "SIZE_PROBLEM"}]
        )
        before = await snapshot(engine, organization_id)
        variables = {"id": rma["id"], "input": {"comment": "x"}}
        refused = (await http.post("/graphql", json={"query": CORRECT, "variables": variables})).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"id": canceled["id"], "input": {"comment": "late"}}, "INVALID_TRANSITION", "CANCELED"),
        ({"id": rma["id"], "input": {}}, "BAD_USER_INPUT", "input"),
        ({"id": rma["id"], "input": {"sender": None}}, "BAD_USER_INPUT", "input.sender"),
        ({"id": rma["id"], "input": {"comment": "x"}, "expectedVersion": 7}, "CONFLICT", ""),
    ]
    for variables, code, detail in cases:
        error = await gql.error(CORRECT, variables)
        assert error["extensions"]["code"] == code, error
        assert detail in str(error["extensions"].get("field") or error["extensions"].get("from") or ""), error
    # A dry run answers the correction and writes nothing.
    dry = await correct(gql, rma["id"], input={"comment": "maybe"}, dryRun=True)
    assert dry["comment"] == "maybe"
    assert dry["history"][-1]["type"] == "CORRECTED"
    assert await snapshot(engine, organization_id) == before
