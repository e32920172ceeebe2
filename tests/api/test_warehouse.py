"""Receiving, inspection and restock, the amount due, financial resolutions through their
providers, vouchers, replacement orders and the return slip, over HTTP on a real server."""

import asyncio
import io
from typing import Any

import httpx
import pypdf
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_returns import configure, line, return_input, shop
from tests.conftest import GraphQLClient, Server
from tests.helpers import act, snapshot

FIELDS = """
  id version processingStatus financialStatus fulfillmentStatus amountDue executedAmount remainingDue
  returnReference returnSlipUrl
  lines { id sku quantity lineState receivedQuantity surplusQuantity receivedSerialNumbers inspectedQuantity
          acceptedQuantity restockedQuantity inspections { quantity result disposition notes inspector { type } } }
  financialResolutions { id type amount status reference failureReason provider voucher { code amount status } }
  replacementOrders { externalReference status lines { sku quantity unitPrice } }
  availableActions { action allowed reason }
  history { type actor { type } comment }
"""
CREATE = f"mutation($input: RmaOrderInput!) {{ rmaOrderCreate(input: $input) {{ {FIELDS} }} }}"
GET = f"query($id: String!) {{ rmaOrder(id: $id) {{ {FIELDS} }} }}"
RECEIVE = f"""
mutation($id: String!, $line: String!, $quantity: Int!, $serials: [String!]) {{
  rmaOrderLineReceive(rmaOrderId: $id, lineId: $line, quantity: $quantity, serialNumbers: $serials) {{ {FIELDS} }}
}}"""
INSPECT = f"""
mutation($line: String!, $input: RmaLineInspectionInput!) {{
  rmaOrderLineInspect(lineId: $line, input: $input) {{ {FIELDS} }}
}}"""
RESOLVE = """
mutation($id: String!, $input: RmaFinancialResolutionInput!) {
  rmaFinancialResolutionCreate(rmaOrderId: $id, input: $input) { id type amount status provider }
}"""
EXECUTE = """
mutation($id: String!, $reference: String) {
  rmaFinancialResolutionExecute(id: $id, reference: $reference) {
    id status reference failureReason rmaOrder { financialStatus executedAmount amountDue version }
  }
}"""
REJECT = """
mutation($id: String!, $reason: String) {
  rmaFinancialResolutionReject(id: $id, reason: $reason) { id status failureReason rmaOrder { financialStatus } }
}"""
REDEEM = """
mutation($code: String!, $amount: Float!) { voucherRedeem(code: $code, amount: $amount) { code amount status redeemedAmount } }
"""
REPLACE = f"""
mutation($id: String!, $lines: [RmaReplacementLineInput!]!) {{
  rmaOrderCreateReplacementOrder(id: $id, lines: $lines) {{ {FIELDS} }}
}}"""
STOCK = "query($id: String!) { sku(id: $id) { sku stock { quantity } } }"


async def processing(gql: GraphQLClient, *lines: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """An RMA of the shop's order, accepted and at the warehouse (PROCESSING)."""
    rma = (await gql.data(CREATE, {"input": return_input(*lines, accept=True, **overrides)}))[
        "rmaOrderCreate"
    ]
    await act(gql, rma["id"], "startFulfillment")
    return await get(gql, rma["id"])


async def get(gql: GraphQLClient, rma_id: str) -> dict[str, Any]:
    rma: dict[str, Any] = (await gql.data(GET, {"id": rma_id}))["rmaOrder"]
    return rma


async def receive(
    gql: GraphQLClient, rma: dict[str, Any], index: int, quantity: int, **extra: Any
) -> dict[str, Any]:
    data = await gql.data(
        RECEIVE, {"id": rma["id"], "line": rma["lines"][index]["id"], "quantity": quantity, **extra}
    )
    result: dict[str, Any] = data["rmaOrderLineReceive"]
    return result


async def inspect(
    gql: GraphQLClient,
    rma: dict[str, Any],
    index: int,
    quantity: int,
    result: str = "ACCEPTED",
    disposition: str = "RESTOCK",
) -> dict[str, Any]:
    data = await gql.data(
        INSPECT,
        {
            "line": rma["lines"][index]["id"],
            "input": {"quantity": quantity, "result": result, "disposition": disposition, "notes": "checked"},
        },
    )
    inspected: dict[str, Any] = data["rmaOrderLineInspect"]
    return inspected


async def stock(gql: GraphQLClient, sku_id: str) -> int:
    found = (await gql.data(STOCK, {"id": sku_id}))["sku"]
    return sum(level["quantity"] for level in found["stock"])


def allowed(rma: dict[str, Any], action: str) -> bool:
    return next(a["allowed"] for a in rma["availableActions"] if a["action"] == action)


async def test_receive_inspect_restock_and_complete(gql: GraphQLClient) -> None:
    made = await shop(gql)
    shirt_m = made["skus"][0]["id"]
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 2), line(made["lines"]["SHIRT-L"], 1))
    stock_before = await stock(gql, shirt_m)

    rma = await receive(gql, rma, 0, 2, serials=["SN-1", "SN-2"])
    assert rma["lines"][0]["receivedQuantity"] == 2
    assert rma["lines"][0]["receivedSerialNumbers"] == ["SN-1", "SN-2"]
    # Money waits for inspection; completion too.
    assert not allowed(rma, "completeProcessing")
    assert not allowed(rma, "createFinancialResolution")
    assert rma["amountDue"] == 0

    rma = await inspect(gql, rma, 0, 1)
    assert rma["lines"][0]["lineState"] == "PARTIALLY_FULFILLED"
    rma = await inspect(gql, rma, 0, 1, "REJECTED", "SCRAP")
    line_m = rma["lines"][0]
    assert (line_m["inspectedQuantity"], line_m["acceptedQuantity"], line_m["restockedQuantity"]) == (2, 1, 1)
    assert line_m["lineState"] == "FULFILLED"
    assert [i["result"] for i in line_m["inspections"]] == ["ACCEPTED", "REJECTED"]
    assert line_m["inspections"][0]["inspector"]["type"] == "API_CLIENT"
    # The restock moved exactly the restocked unit.
    assert await stock(gql, shirt_m) == stock_before + 1
    # One accepted unit of 25.50 is due; the unreceived SHIRT-L line counts for nothing.
    assert rma["amountDue"] == 25.5
    assert allowed(rma, "completeProcessing")

    rma = await act(gql, rma["id"], "completeProcessing")
    rma = await get(gql, rma["id"])
    assert rma["processingStatus"] == "COMPLETE"
    assert [line["lineState"] for line in rma["lines"]] == ["FULFILLED", "PENDING"]
    assert await stock(gql, shirt_m) == stock_before + 1
    types = [event["type"] for event in rma["history"]]
    assert types.count("LINE_RECEIVED") == 1
    assert types.count("LINE_INSPECTED") == 2


async def test_a_surplus_flags_an_anomaly_by_the_system(gql: GraphQLClient) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 1))

    rma = await receive(gql, rma, 0, 3)

    assert rma["processingStatus"] == "ANOMALY"
    assert rma["fulfillmentStatus"] == "ERROR"
    assert rma["lines"][0]["surplusQuantity"] == 2
    flagged = rma["history"][-1]
    assert (flagged["type"], flagged["actor"]["type"]) == ("ANOMALY_FLAGGED", "SYSTEM")
    assert "2 more than the 1 announced" in flagged["comment"]


async def test_refused_receiving_and_inspection_change_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 2))
    rma = await receive(gql, rma, 0, 1, serials=["SN-1"])
    before = await snapshot(engine, organization_id)

    over = await gql.error(
        INSPECT,
        {
            "line": rma["lines"][0]["id"],
            "input": {"quantity": 2, "result": "ACCEPTED", "disposition": "SCRAP"},
        },
    )
    rejected_restock = await gql.error(
        INSPECT,
        {
            "line": rma["lines"][0]["id"],
            "input": {"quantity": 1, "result": "REJECTED", "disposition": "RESTOCK"},
        },
    )
    serial_again = await gql.error(
        RECEIVE, {"id": rma["id"], "line": rma["lines"][0]["id"], "quantity": 1, "serials": ["SN-1"]}
    )
    unknown_line = await gql.error(
        INSPECT, {"line": rma["id"], "input": {"quantity": 1, "result": "ACCEPTED", "disposition": "SCRAP"}}
    )
    not_processing = await processing(gql, line(made["lines"]["SHIRT-L"], 1))
    await act(gql, not_processing["id"], "hold")
    before = await snapshot(engine, organization_id)
    held = await gql.error(
        RECEIVE, {"id": not_processing["id"], "line": not_processing["lines"][0]["id"], "quantity": 1}
    )

    assert (over["extensions"]["code"], over["extensions"]["field"]) == ("BAD_USER_INPUT", "input.quantity")
    assert rejected_restock["extensions"]["field"] == "input.disposition"
    assert serial_again["extensions"]["field"] == "serialNumbers[0]"
    assert unknown_line["extensions"]["code"] == "NOT_FOUND"
    assert (held["extensions"]["code"], held["extensions"]["action"]) == ("INVALID_TRANSITION", "receiveLine")
    assert await snapshot(engine, organization_id) == before


async def test_amount_due_counts_fee_retained_and_shipping_on_a_complete_return(gql: GraphQLClient) -> None:
    made = await shop(gql)
    await configure(gql, refundShippingOnCompleteReturn=True, returnFee=2)
    rma = await processing(
        gql,
        line(made["lines"]["SHIRT-M"], 2),
        line(made["lines"]["SHIRT-L"], 1),
        applyReturnFee=True,
        retainedAmountForShipping=1,
    )
    # Nothing received: every unit counts, and the whole order comes back, so its 4.90 shipping is refunded.
    assert rma["amountDue"] == round(2 * 25.5 + 20 - 1 - 2 + 4.9, 2)

    rma = await receive(gql, rma, 0, 2)
    rma = await inspect(gql, rma, 0, 2)
    # Partial now (SHIRT-L not received): no shipping.
    assert rma["amountDue"] == round(2 * 25.5 - 1 - 2, 2)


async def test_resolutions_through_the_manual_provider(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    first = await processing(gql, line(made["lines"]["SHIRT-M"], 1))
    second = await processing(gql, line(made["lines"]["SHIRT-L"], 1))
    for rma in (first, second):
        rma = await receive(gql, rma, 0, 1)
        await inspect(gql, rma, 0, 1)

    paid = (await gql.data(RESOLVE, {"id": first["id"], "input": {"type": "REFUND"}}))[
        "rmaFinancialResolutionCreate"
    ]
    assert (paid["amount"], paid["status"], paid["provider"]) == (25.5, "PENDING", "manual")
    executed = (await gql.data(EXECUTE, {"id": paid["id"], "reference": "PSP-42"}))[
        "rmaFinancialResolutionExecute"
    ]
    assert (executed["status"], executed["reference"]) == ("EXECUTED", "PSP-42")
    assert executed["rmaOrder"]["financialStatus"] == "REFUNDED"

    # The same payment reference cannot pay a second refund: the execution fails, with the reason.
    part = (await gql.data(RESOLVE, {"id": second["id"], "input": {"type": "REFUND", "amount": 5}}))[
        "rmaFinancialResolutionCreate"
    ]
    failed = (await gql.data(EXECUTE, {"id": part["id"], "reference": "PSP-42"}))[
        "rmaFinancialResolutionExecute"
    ]
    assert failed["status"] == "FAILED"
    assert "PSP-42" in failed["failureReason"]
    assert failed["rmaOrder"]["financialStatus"] == "EXECUTION_ERROR"
    assert failed["rmaOrder"]["executedAmount"] == 0
    # Retried with a new reference, it pays.
    retried = (await gql.data(EXECUTE, {"id": part["id"], "reference": "PSP-43"}))[
        "rmaFinancialResolutionExecute"
    ]
    assert retried["status"] == "EXECUTED"
    assert retried["rmaOrder"]["financialStatus"] == "PARTIALLY_REFUNDED"

    # More than remains due is refused and changes nothing; so is paying twice.
    before = await snapshot(engine, organization_id)
    too_much = await gql.error(RESOLVE, {"id": second["id"], "input": {"type": "REFUND", "amount": 15.01}})
    twice = await gql.error(EXECUTE, {"id": part["id"], "reference": "PSP-44"})
    assert (too_much["extensions"]["code"], too_much["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "input.amount",
    )
    assert (twice["extensions"]["code"], twice["extensions"]["dimension"]) == (
        "INVALID_TRANSITION",
        "FINANCIAL",
    )
    assert await snapshot(engine, organization_id) == before

    rest = (await gql.data(RESOLVE, {"id": second["id"], "input": {"type": "REFUND"}}))[
        "rmaFinancialResolutionCreate"
    ]
    assert rest["amount"] == 15
    rejected = (await gql.data(REJECT, {"id": rest["id"], "reason": "customer kept it"}))[
        "rmaFinancialResolutionReject"
    ]
    assert (rejected["status"], rejected["failureReason"]) == ("REJECTED", "customer kept it")
    assert rejected["rmaOrder"]["financialStatus"] == "PARTIALLY_REFUNDED"


async def test_two_executions_at_once_pay_once(gql: GraphQLClient) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 2), expectedResolution="VOUCHER")
    rma = await receive(gql, rma, 0, 2)
    await inspect(gql, rma, 0, 2)
    resolution = (await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "VOUCHER"}}))[
        "rmaFinancialResolutionCreate"
    ]

    answers = await asyncio.gather(*(gql.execute(EXECUTE, {"id": resolution["id"]}) for _ in range(2)))

    paid = [a for a in answers if a.get("data")]
    refused = [a for a in answers if not a.get("data")]
    assert len(paid) == 1
    assert len(refused) == 1
    assert refused[0]["errors"][0]["extensions"]["code"] in ("INVALID_TRANSITION", "CONFLICT")
    after = await get(gql, rma["id"])
    assert after["executedAmount"] == 51
    assert [r["status"] for r in after["financialResolutions"]] == ["EXECUTED"]
    assert [e["type"] for e in after["history"]].count("FINANCIAL_RESOLUTION_EXECUTED") == 1
    vouchers = await gql.data(
        "query($code: String!) { voucher(code: $code) { amount currency } }",
        {"code": after["financialResolutions"][0]["reference"]},
    )
    assert vouchers["voucher"] == {"amount": 51, "currency": "EUR"}


async def test_a_voucher_is_redeemed_once_even_at_the_same_moment(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 1), expectedResolution="VOUCHER")
    rma = await receive(gql, rma, 0, 1)
    await inspect(gql, rma, 0, 1)
    resolution = (await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "VOUCHER"}}))[
        "rmaFinancialResolutionCreate"
    ]
    executed = (await gql.data(EXECUTE, {"id": resolution["id"]}))["rmaFinancialResolutionExecute"]
    code = executed["reference"]
    assert code.startswith("V-")
    assert len(code) == 26
    before = await snapshot(engine, organization_id)
    too_much = await gql.error(REDEEM, {"code": code, "amount": 25.51})
    unknown = await gql.error(REDEEM, {"code": "V-0000-0000-0000-0000-0000", "amount": 1})
    assert too_much["extensions"]["field"] == "amount"
    assert unknown["extensions"]["reason"] == "VOUCHER_NOT_FOUND"
    assert await snapshot(engine, organization_id) == before

    answers = await asyncio.gather(*(gql.execute(REDEEM, {"code": code, "amount": 25.5}) for _ in range(2)))

    redeemed = [a["data"]["voucherRedeem"] for a in answers if a.get("data")]
    refused = [a["errors"][0]["extensions"] for a in answers if not a.get("data")]
    assert redeemed == [{"code": code, "amount": 25.5, "status": "REDEEMED", "redeemedAmount": 25.5}]
    assert [r["reason"] for r in refused] == ["VOUCHER_ALREADY_REDEEMED"]


async def test_completion_auto_executes_a_voucher_through_its_provider(gql: GraphQLClient) -> None:
    made = await shop(gql)
    rma = await processing(
        gql,
        line(made["lines"]["SHIRT-M"], 1),
        expectedResolution="VOUCHER",
        autoGenerateFinancialResolution=True,
        autoExecuteFinancialResolution=True,
    )

    await act(gql, rma["id"], "completeProcessing")
    rma = await get(gql, rma["id"])

    [resolution] = rma["financialResolutions"]
    assert (resolution["type"], resolution["status"], resolution["provider"]) == (
        "VOUCHER",
        "EXECUTED",
        "voucher",
    )
    assert resolution["voucher"]["code"] == resolution["reference"]
    assert resolution["voucher"]["status"] == "ACTIVE"
    assert rma["financialStatus"] == "REFUNDED"
    assert rma["executedAmount"] == rma["amountDue"] == 25.5


async def test_replacement_order_reserves_stock_or_is_refused(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    shirt_l = made["skus"][1]["id"]
    rma = (
        await gql.data(
            CREATE,
            {
                "input": return_input(
                    line(made["lines"]["SHIRT-M"], 1), expectedResolution="REPLACE", accept=True
                )
            },
        )
    )["rmaOrderCreate"]
    before_stock = await stock(gql, shirt_l)

    rma = (await gql.data(REPLACE, {"id": rma["id"], "lines": [{"sku": "SHIRT-L", "quantity": 2}]}))[
        "rmaOrderCreateReplacementOrder"
    ]

    [order] = rma["replacementOrders"]
    assert order["externalReference"] == f"{rma['returnReference']}-R1"
    assert order["lines"] == [{"sku": "SHIRT-L", "quantity": 2, "unitPrice": 0}]
    assert await stock(gql, shirt_l) == before_stock - 2
    assert rma["history"][-1]["type"] == "REPLACEMENT_ORDER_CREATED"

    before = await snapshot(engine, organization_id)
    short = await gql.error(
        REPLACE, {"id": rma["id"], "lines": [{"sku": "SHIRT-L", "quantity": before_stock}]}
    )
    refund = (
        await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1), accept=True)})
    )["rmaOrderCreate"]
    before = await snapshot(engine, organization_id)
    not_replace = await gql.error(REPLACE, {"id": refund["id"], "lines": [{"sku": "SHIRT-L", "quantity": 1}]})
    assert short["extensions"]["reason"] == "INSUFFICIENT_STOCK"
    assert short["extensions"]["field"] == "lines[0].quantity"
    assert f"Only {before_stock - 2} unit(s)" in short["message"]
    assert not_replace["extensions"]["code"] == "INVALID_TRANSITION"
    assert await snapshot(engine, organization_id) == before


async def test_the_return_slip_is_a_pdf_with_the_reference(gql: GraphQLClient, server: Server) -> None:
    made = await shop(gql)
    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1))}))[
        "rmaOrderCreate"
    ]
    url = rma["returnSlipUrl"]
    assert url.startswith(server.url + "/return-slips/")

    async with httpx.AsyncClient() as client:
        answer = await client.get(url)
        forged = await client.get(url.replace("signature=", "signature=x"))

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
    assert rma["returnReference"] in text
    assert "Ada Lovelace" in text
    assert "SHIRT-M" in text
    assert forged.status_code == 403


async def test_a_voucher_executed_with_a_reference_is_bad_input_and_changes_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 1), expectedResolution="VOUCHER")
    resolution = (await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "VOUCHER"}}))[
        "rmaFinancialResolutionCreate"
    ]
    before = await snapshot(engine, organization_id)

    refused = await gql.error(EXECUTE, {"id": resolution["id"], "reference": "PSP-1"})

    assert (refused["extensions"]["code"], refused["extensions"]["field"]) == ("BAD_USER_INPUT", "reference")
    assert "without a reference" in refused["message"]
    assert await snapshot(engine, organization_id) == before
    after = await get(gql, rma["id"])
    assert [r["status"] for r in after["financialResolutions"]] == ["PENDING"]
    assert after["financialStatus"] != "EXECUTION_ERROR"


def _reasons(rma: dict[str, Any]) -> dict[str, tuple[bool, str | None]]:
    return {a["action"]: (a["allowed"], a["reason"]) for a in rma["availableActions"]}


async def test_available_actions_agree_with_what_the_server_then_does(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    # Paid in full before anything was received: every unit counted, so receiving one now
    # would lower the amount due below what was paid.
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 1))
    resolution = (await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "REFUND"}}))[
        "rmaFinancialResolutionCreate"
    ]
    await gql.data(EXECUTE, {"id": resolution["id"]})
    refunded = await get(gql, rma["id"])
    actions = _reasons(refunded)
    before = await snapshot(engine, organization_id)

    receive_refused = await gql.error(
        RECEIVE, {"id": rma["id"], "line": refunded["lines"][0]["id"], "quantity": 1}
    )
    execute_refused = await gql.error(EXECUTE, {"id": resolution["id"]})

    assert refunded["financialStatus"] == "REFUNDED"
    assert actions["receiveLine"] == (False, receive_refused["message"])
    assert receive_refused["extensions"]["code"] == "INVALID_TRANSITION"
    assert "receiveLine" not in receive_refused["extensions"]["allowedActions"]
    assert actions["executeFinancialResolution"][0] is False
    assert "createFinancialResolution" not in (actions["executeFinancialResolution"][1] or "")
    assert execute_refused["extensions"]["action"] == "executeFinancialResolution"
    assert await snapshot(engine, organization_id) == before


async def test_execute_is_listed_with_its_own_name_when_the_state_refuses_it(gql: GraphQLClient) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 1))
    await gql.data(RESOLVE, {"id": rma["id"], "input": {"type": "REFUND"}})
    held = await act(gql, rma["id"], "hold")

    allowed_now, reason = _reasons(held)["executeFinancialResolution"]

    assert allowed_now is False
    assert reason is not None
    assert "'executeFinancialResolution'" in reason
    assert "createFinancialResolution" not in reason


async def test_every_action_listed_as_allowed_on_a_line_or_resolution_is_then_done(
    gql: GraphQLClient,
) -> None:
    made = await shop(gql)
    rma = await processing(gql, line(made["lines"]["SHIRT-M"], 2))
    rma = await receive(gql, rma, 0, 1)

    listed = _reasons(rma)
    inspected = await inspect(gql, rma, 0, 1, "ACCEPTED", "SCRAP")
    after = _reasons(inspected)

    assert listed["inspectLine"] == (True, None)
    assert listed["receiveLine"] == (True, None)
    # Nothing left to inspect: listed as refused, and the server refuses it the same way.
    assert after["inspectLine"] == (False, "No received unit awaits inspection.")
    refused = await gql.error(
        INSPECT,
        {
            "line": rma["lines"][0]["id"],
            "input": {"quantity": 1, "result": "ACCEPTED", "disposition": "SCRAP"},
        },
    )
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"


LOCATION_UPDATE = """
mutation($id: String!, $input: LocationUpdateInput!) {
  locationUpdate(id: $id, input: $input) { id name contact { fullname address city zipcode country } }
}"""


async def _slip_pages(gql: GraphQLClient, url: str) -> list[str]:
    answer = await gql.http.get(url)
    assert answer.status_code == 200
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages]


async def test_the_slip_ships_to_the_locations_address_on_every_page(gql: GraphQLClient) -> None:
    await shop(gql)
    location = (await gql.data("{ locations { id name } }"))["locations"][0]
    address = {
        "fullname": "Returns department",
        "address": "12 rue des Entrepôts",
        "city": "Lyon",
        "zipcode": "69007",
        "country": "FR",
    }
    updated = (await gql.data(LOCATION_UPDATE, {"id": location["id"], "input": {"contact": address}}))[
        "locationUpdate"
    ]
    long_label = "An unusually long product label that no column of the slip could hold on a single line"
    lines = [
        {
            "sku": f"LOOSE-{i:02}",
            "label": long_label if i == 0 else None,
            "quantity": 1,
            "reason": "DEFECTIVE",
        }
        for i in range(60)
    ]
    lines.append({"sku": "SHIRT-M", "quantity": 1, "reason": "SIZE_PROBLEM"})
    rma = (await gql.data(CREATE, {"input": return_input(*lines)}))["rmaOrderCreate"]

    pages = await _slip_pages(gql, rma["returnSlipUrl"])

    assert updated["contact"]["address"] == "12 rue des Entrepôts"
    assert updated["name"] == location["name"]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert rma["returnReference"] in text
        assert f"page {number} of {len(pages)}" in text
    first = pages[0]
    assert "12 rue des Entrepôts" in first
    assert "69007 Lyon" in first
    assert location["name"] in first
    # The long label is wrapped, not cut: every word is there.
    words = " ".join(" ".join(pages).split())
    assert all(word in words for word in long_label.split())
    assert "single line" in words
    # A catalog SKU without a label shows its product's name.
    assert "Shirt" in pages[-1]


async def test_without_a_location_address_the_slip_ships_to_the_delivery_contact(gql: GraphQLClient) -> None:
    rma = (
        await gql.data(
            CREATE,
            {
                "input": return_input(
                    {"sku": "LOOSE-1", "quantity": 1, "reason": "DEFECTIVE"},
                    deliveryContact={"fullname": "Back office", "address": "1 Main Street", "city": "Leeds"},
                )
            },
        )
    )["rmaOrderCreate"]

    [page] = await _slip_pages(gql, rma["returnSlipUrl"])

    assert "1 Main Street" in page
    assert "Leeds" in page


async def test_location_update_refusals_change_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    location = (await gql.data("{ locations { id } }"))["locations"][0]
    before = await snapshot(engine, organization_id)

    unknown = await gql.error(
        LOCATION_UPDATE, {"id": "00000000-0000-4000-8000-000000000000", "input": {"name": "X"}}
    )
    blank = await gql.error(LOCATION_UPDATE, {"id": location["id"], "input": {"name": " "}})
    no_fullname = await gql.error(
        LOCATION_UPDATE, {"id": location["id"], "input": {"contact": {"fullname": ""}}}
    )

    assert unknown["extensions"]["code"] == "NOT_FOUND"
    assert blank["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
    assert no_fullname["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.contact.fullname"}
    assert await snapshot(engine, organization_id) == before
