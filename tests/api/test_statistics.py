"""The dashboard's figures: returns per day by processing status, reasons, return rate per
product and what was paid, each counted by the database, for staff only."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from tests.api.test_returns import line, return_input, shop
from tests.api.test_statement_count import _statements
from tests.api.test_warehouse import CREATE, EXECUTE, RESOLVE, inspect, processing, receive
from tests.conftest import GraphQLClient, Server
from tests.helpers import act, bearer, sign_up_input

STATISTICS = """
query($since: DateTime, $until: DateTime, $locationId: String) {
  rmaStatistics(since: $since, until: $until, locationId: $locationId) {
    since until
    returnsPerDay { day processingStatus count }
    topReasons { reason lines units }
    returnRateByProduct { name soldUnits returnedUnits rate }
    paidResolutions { type currency count amount averageHoursToPayment }
  }
}"""


async def test_the_figures_count_what_happened(gql: GraphQLClient) -> None:
    made = await shop(gql)
    refunded = await processing(gql, line(made["lines"]["SHIRT-M"], 1))
    refunded = await receive(gql, refunded, 0, 1)
    await inspect(gql, refunded, 0, 1)
    paid = (await gql.data(RESOLVE, {"id": refunded["id"], "input": {"type": "REFUND"}}))[
        "rmaFinancialResolutionCreate"
    ]
    await gql.data(EXECUTE, {"id": paid["id"], "reference": "PSP-1"})
    canceled = (
        await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-L"], 1, reason="DEFECTIVE"))})
    )["rmaOrderCreate"]
    await act(gql, canceled["id"], "cancel", reason="changed my mind")

    stats = (await gql.data(STATISTICS))["rmaStatistics"]
    listed = (await gql.data("{ rmaOrders { nodes { createdAt processingStatus } } }"))["rmaOrders"]["nodes"]
    expected = Counter((rma["createdAt"][:10], rma["processingStatus"]) for rma in listed)
    assert {(d["day"], d["processingStatus"]): d["count"] for d in stats["returnsPerDay"]} == expected
    assert stats["topReasons"] == [
        {"reason": "DEFECTIVE", "lines": 1, "units": 1},
        {"reason": "SIZE_PROBLEM", "lines": 1, "units": 1},
    ]
    # The order sold 3 shirts; the canceled return brought none back.
    assert stats["returnRateByProduct"] == [
        {"name": "Shirt", "soldUnits": 3, "returnedUnits": 1, "rate": round(1 / 3, 4)}
    ]
    [refunds] = stats["paidResolutions"]
    assert (refunds["type"], refunds["currency"], refunds["count"], refunds["amount"]) == (
        "REFUND",
        "EUR",
        1,
        25.5,
    )
    assert 0 <= refunds["averageHoursToPayment"] < 1

    # A window before it all: nothing.
    long_ago = datetime.now(UTC) - timedelta(days=100)
    empty = (
        await gql.data(
            STATISTICS, {"since": long_ago.isoformat(), "until": (long_ago + timedelta(days=1)).isoformat()}
        )
    )["rmaStatistics"]
    assert (empty["returnsPerDay"], empty["topReasons"], empty["paidResolutions"]) == ([], [], [])
    assert empty["returnRateByProduct"] == []


async def test_a_bad_window_and_a_customer_are_refused(
    gql: GraphQLClient, endpoint: tuple[str, httpx.AsyncBaseTransport | None], organization_id: str
) -> None:
    now = datetime.now(UTC)
    backwards = await gql.error(
        STATISTICS, {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}
    )
    assert backwards["extensions"] == {"code": "BAD_USER_INPUT", "field": "since"}
    too_long = await gql.error(STATISTICS, {"since": (now - timedelta(days=400)).isoformat()})
    assert too_long["message"] == "A window spans at most 366 days."

    base_url, transport = endpoint
    async with httpx.AsyncClient(base_url=base_url, transport=transport) as anonymous:
        token = (
            await anonymous.post(
                "/graphql",
                json={
                    "query": "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
                    "variables": {"input": sign_up_input(organization_id)},
                },
            )
        ).json()["data"]["signUp"]["token"]
    async with httpx.AsyncClient(base_url=base_url, transport=transport, headers=bearer(token)) as http:
        refused = (await http.post("/graphql", json={"query": STATISTICS})).json()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["errors"][0]["message"] == "A customer may not read the organization's statistics."


async def test_the_figures_cost_four_statements_whatever_the_data(server: Server, gql: GraphQLClient) -> None:
    made = await shop(gql)
    few, _ = await _statements(server, gql, STATISTICS)
    for sku in ("SHIRT-M", "SHIRT-M", "SHIRT-L"):
        await gql.data(CREATE, {"input": return_input(line(made["lines"][sku], 1))})
    more, data = await _statements(server, gql, STATISTICS)
    assert len(few) == len(more) == 4
    assert sum(day["count"] for day in data["rmaStatistics"]["returnsPerDay"]) == 3
