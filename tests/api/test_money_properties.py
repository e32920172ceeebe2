"""Property tests: random receive / inspect / resolve / execute / complete sequences on one
return, through the API on a real server and database, keep the money and stock exact.

After every step: executed ≤ due; per line restocked ≤ accepted ≤ inspected ≤ received;
REFUNDED exactly when the executed total equals a positive amount due; and the stock moved
by exactly the restocked units. ``RMA_PROPERTY_EXAMPLES`` sets the number of sequences.
"""

import itertools
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_returns import line, return_input, shop
from tests.api.test_warehouse import CREATE, EXECUTE, GET, INSPECT, RECEIVE, RESOLVE, stock
from tests.conftest import GraphQLClient
from tests.helpers import action_document

EXAMPLES = int(os.environ.get("RMA_PROPERTY_EXAMPLES", "20"))
_orders = itertools.count(1)

receive = st.tuples(st.just("receive"), st.integers(0, 1), st.integers(1, 3))
inspect = st.tuples(
    st.just("inspect"),
    st.integers(0, 1),
    st.integers(1, 2),
    st.sampled_from(["ACCEPTED", "REJECTED"]),
    st.sampled_from(["RESTOCK", "SCRAP", "REFURBISH", "RETURN_TO_CUSTOMER"]),
)
resolve = st.tuples(
    st.just("resolve"), st.sampled_from(["REFUND", "VOUCHER"]), st.sampled_from([None, 5.0, 20.0])
)
execute = st.tuples(st.just("execute"), st.integers(0, 3))
other = st.tuples(st.sampled_from(["complete", "resolveAnomaly"]))
steps = st.lists(st.one_of(receive, inspect, resolve, execute, other), min_size=1, max_size=12)


async def _step(gql: GraphQLClient, rma: dict[str, Any], step: tuple[Any, ...]) -> dict[str, Any]:
    kind = step[0]
    lines = rma["lines"]
    if kind == "receive":
        return await gql.execute(
            RECEIVE, {"id": rma["id"], "line": lines[step[1]]["id"], "quantity": step[2]}
        )
    if kind == "inspect":
        return await gql.execute(
            INSPECT,
            {
                "line": lines[step[1]]["id"],
                "input": {"quantity": step[2], "result": step[3], "disposition": step[4]},
            },
        )
    if kind == "resolve":
        return await gql.execute(RESOLVE, {"id": rma["id"], "input": {"type": step[1], "amount": step[2]}})
    if kind == "execute":
        resolutions = rma["financialResolutions"]
        if not resolutions:
            return {"data": None}
        target = resolutions[step[1] % len(resolutions)]
        return await gql.execute(EXECUTE, {"id": target["id"]})
    action = "completeProcessing" if kind == "complete" else kind
    return await gql.execute(action_document(action), {"id": rma["id"]})


def _check(rma: dict[str, Any]) -> None:
    due, executed = rma["amountDue"], rma["executedAmount"]
    assert executed <= due
    for ln in rma["lines"]:
        assert (
            ln["restockedQuantity"]
            <= ln["acceptedQuantity"]
            <= ln["inspectedQuantity"]
            <= ln["receivedQuantity"]
        )
    refunded = rma["financialStatus"] == "REFUNDED"
    assert refunded == (due > 0 and executed == due), (rma["financialStatus"], due, executed)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
async def test_money_and_stock_stay_exact(gql: GraphQLClient, sequence: list[tuple[Any, ...]]) -> None:
    number = next(_orders)
    made = await shop(gql, **({"reference": f"SO-P{number}"} if number > 1 else {}))
    products = (await gql.data("{ products { nodes { skus { id } } } }"))["products"]["nodes"]
    sku_ids = [sku["id"] for product in products for sku in product["skus"]]
    stock_before = [await stock(gql, sku_id) for sku_id in sku_ids]
    created = await gql.data(
        CREATE,
        {
            "input": return_input(
                line(made["lines"]["SHIRT-M"], 2), line(made["lines"]["SHIRT-L"], 1), accept=True
            )
        },
    )
    rma = created["rmaOrderCreate"]
    await gql.data(action_document("startFulfillment"), {"id": rma["id"]})

    for step in sequence:
        answer = await _step(gql, rma, step)
        for error in answer.get("errors") or []:
            # Refusals name their cause; nothing fails unexpectedly.
            assert error["extensions"]["code"] in ("BAD_USER_INPUT", "INVALID_TRANSITION"), error
        rma = (await gql.data(GET, {"id": rma["id"]}))["rmaOrder"]
        _check(rma)

    stock_after = [await stock(gql, sku_id) for sku_id in sku_ids]
    restocked = sum(ln["restockedQuantity"] for ln in rma["lines"])
    assert sum(stock_after) - sum(stock_before) == restocked
