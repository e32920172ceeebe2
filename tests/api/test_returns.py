"""Returns from orders: lines taken from order lines, the location's return policy with its
reason codes (and returnableItems agreeing with create), the policy snapshot, concurrent
returns of one order line, and the orders' return status."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_catalog import ORDER, catalog, order_input
from tests.conftest import GraphQLClient, Server
from tests.helpers import act, snapshot

RETURN_FIELDS = """
  id version processingStatus expectedResolution currency returnWindowOverrideReason
  lines { sku label price quantity orderLineId pictures productState }
  linkedOrders { orderId externalReference order { id externalReference returnStatus } }
  returnPolicy { authorizationDelay maxAuthorizationDelay acceptMulti reasonLines expectedResolutions
                 requestProductState needsPictures }
"""
CREATE = f"mutation($input: RmaOrderInput!) {{ rmaOrderCreate(input: $input) {{ {RETURN_FIELDS} }} }}"
UPDATE = (
    "mutation($id: String!, $input: RmaOrderUpdateInput!) "
    f"{{ rmaOrderUpdate(id: $id, input: $input) {{ {RETURN_FIELDS} }} }}"
)
RETURNABLE = """
query($orderId: String!) {
  returnableItems(orderId: $orderId) {
    orderLineId sku label orderedQuantity returnedQuantity returnableQuantity unitPrice reason message
    returnDeadline
  }
}
"""
CONFIGURE = """
mutation($id: String!, $input: RmaConfigurationUpdateInput!) { rmaConfigurationUpdate(id: $id, input: $input) { id } }
"""
ORDER_UPDATE = (
    "mutation($id: String!, $input: OrderUpdateInput!) { orderUpdate(id: $id, input: $input) { id } }"
)
ORDER_STATUS = "query($id: String!) { order(id: $id) { returnStatus } }"


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def shop(gql: GraphQLClient, reference: str = "SO-1001", **order: Any) -> dict[str, Any]:
    """The catalog and one order: 2 × SHIRT-M at 25.50 and 1 × SHIRT-L at 20, delivered 3 days ago."""
    made = await catalog(gql) if reference == "SO-1001" else {}
    fields = {
        "externalReference": reference,
        "orderedAt": _ago(6),
        "shippedAt": _ago(5),
        "deliveredAt": _ago(3),
        **order,
    }
    created = (await gql.data(ORDER, {"input": order_input(**fields)}))["orderCreate"]
    lines = (
        await gql.data("query($id: String!) { order(id: $id) { lines { id sku } } }", {"id": created["id"]})
    )["order"]["lines"]
    return {**made, "order": created, "lines": {line["sku"]: line["id"] for line in lines}}


async def configure(gql: GraphQLClient, **policy: Any) -> None:
    configuration = (await gql.data("{ rmaConfigurations { id } }"))["rmaConfigurations"][0]
    await gql.data(CONFIGURE, {"id": configuration["id"], "input": policy})


def return_input(*lines: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "expectedResolution": "REFUND",
        "lines": list(lines),
        "sender": {"fullname": "Ada Lovelace", "email": "ada@example.com"},
        "deliveryContact": {"fullname": "Warehouse", "city": "Lyon"},
    }
    data.update(overrides)
    return data


def line(order_line_id: str, quantity: int = 1, **fields: Any) -> dict[str, Any]:
    return {"orderLineId": order_line_id, "quantity": quantity, "reason": "SIZE_PROBLEM", **fields}


async def returnable(gql: GraphQLClient, order_id: str) -> dict[str, dict[str, Any]]:
    items = (await gql.data(RETURNABLE, {"orderId": order_id}))["returnableItems"]
    return {item["sku"]: item for item in items}


async def test_a_line_naming_an_order_line_takes_its_sku_label_and_price(gql: GraphQLClient) -> None:
    made = await shop(gql)

    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 2))}))[
        "rmaOrderCreate"
    ]

    assert rma["lines"] == [
        {
            "sku": "SHIRT-M",
            "label": "Shirt M",
            "price": 25.5,
            "quantity": 2,
            "orderLineId": made["lines"]["SHIRT-M"],
            "pictures": [],
            "productState": None,
        }
    ]
    assert rma["currency"] == "EUR"
    # The order is linked on its own, and resolves to the Order.
    assert rma["linkedOrders"] == [
        {
            "orderId": made["order"]["id"],
            "externalReference": "SO-1001",
            "order": {
                "id": made["order"]["id"],
                "externalReference": "SO-1001",
                "returnStatus": "RETURN_REQUESTED",
            },
        }
    ]
    assert rma["returnPolicy"] == {
        "authorizationDelay": None,
        "maxAuthorizationDelay": None,
        "acceptMulti": True,
        "reasonLines": None,
        "expectedResolutions": None,
        "requestProductState": False,
        "needsPictures": False,
    }


async def test_a_free_linked_order_reference_stays_a_reference(gql: GraphQLClient) -> None:
    rma = (
        await gql.data(
            CREATE,
            {
                "input": return_input(
                    {"sku": "X-1", "quantity": 1, "reason": "DEFECTIVE"},
                    linkedOrders=[{"orderId": "shop-42", "externalReference": "#42"}],
                )
            },
        )
    )["rmaOrderCreate"]

    assert rma["linkedOrders"] == [{"orderId": "shop-42", "externalReference": "#42", "order": None}]


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            {"sku": "SHIRT-L"},
            "input.lines[0].sku",
            "SKU 'SHIRT-L' does not match the order line's SKU 'SHIRT-M'.",
        ),
        ({"orderLineId": "00000000-0000-4000-8000-000000000000"}, "input.lines[0].orderLineId", None),
        ({"orderLineId": "not-a-uuid"}, "input.lines[0].orderLineId", "'not-a-uuid' is not a valid UUID."),
        ({"orderLineId": None}, "input.lines[0].sku", "A value is required."),
    ],
)
async def test_a_line_with_a_wrong_order_line_or_sku_is_refused_and_changes_nothing(
    gql: GraphQLClient,
    fields: dict[str, Any],
    path: str,
    message: str | None,
    organization_id: str,
    engine: AsyncEngine,
) -> None:
    made = await shop(gql)
    before = await snapshot(engine, organization_id)

    error = await gql.error(CREATE, {"input": return_input({**line(made["lines"]["SHIRT-M"]), **fields})})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == path
    assert "reason" not in error["extensions"]
    if message is not None:
        assert error["message"] == message
    assert await snapshot(engine, organization_id) == before


# Each rule: the policy, the order's fields, the request's line and resolution, the reason
# code with its input path, and the fix that makes the same return acceptable.
RULES: dict[str, dict[str, Any]] = {
    "NOT_SHIPPED": {
        "order": {"status": "PAID", "shippedAt": None, "deliveredAt": None},
        "path": "input.lines[0].orderLineId",
        "order_level": True,
    },
    "RETURN_WINDOW_EXPIRED": {
        "policy": {"authorizationDelay": 14},
        "order": {"orderedAt": _ago(40), "shippedAt": _ago(32), "deliveredAt": _ago(30)},
        "path": "input.lines[0].orderLineId",
        "order_level": True,
    },
    "QUANTITY_EXCEEDS_RETURNABLE": {
        "line": {"quantity": 3},
        "path": "input.lines[0].quantity",
        "fix": {"line": {"quantity": 2}},
    },
    "REASON_NOT_ALLOWED": {
        "policy": {"reasonLines": ["DEFECTIVE", "DAMAGED_PRODUCT"]},
        "path": "input.lines[0].reason",
        "fix": {"line": {"reason": "DEFECTIVE"}},
    },
    "RESOLUTION_NOT_ALLOWED": {
        "policy": {"expectedResolutions": ["VOUCHER", "REPLACE"]},
        "path": "input.expectedResolution",
        "fix": {"resolution": "VOUCHER"},
    },
    "PICTURES_REQUIRED": {
        "policy": {"needsPictures": True},
        "path": "input.lines[0].pictures",
        "fix": {"line": {"pictures": ["https://cdn.example.com/p/1.jpg"]}},
    },
    "PRODUCT_STATE_REQUIRED": {
        "policy": {"requestProductState": True},
        "path": "input.lines[0].productState",
        "fix": {"line": {"productState": "WORE"}},
    },
    "ORDER_ALREADY_RETURNED": {
        "policy": {"acceptMulti": False},
        "earlier": True,
        "path": "input.lines[0].orderLineId",
        "order_level": True,
    },
}


@pytest.mark.parametrize("code", list(RULES))
async def test_each_policy_rule_refuses_with_its_reason_code_and_returnable_items_agree(
    gql: GraphQLClient, code: str, organization_id: str, engine: AsyncEngine
) -> None:
    rule = RULES[code]
    made = await shop(gql, **rule.get("order", {}))
    if "policy" in rule:
        await configure(gql, **rule["policy"])
    if rule.get("earlier"):
        await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-L"]))})
    request = return_input(line(made["lines"]["SHIRT-M"], **rule.get("line", {})))
    before = await snapshot(engine, organization_id)

    error = await gql.error(CREATE, {"input": request})
    items = await returnable(gql, made["order"]["id"])

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == code
    assert error["extensions"]["field"] == rule["path"]
    assert await snapshot(engine, organization_id) == before
    if rule.get("order_level"):
        # Nothing of the order is returnable, for the same reason.
        assert {sku: (i["returnableQuantity"], i["reason"]) for sku, i in items.items()} == {
            "SHIRT-M": (0, code),
            "SHIRT-L": (0, code),
        }
        assert items["SHIRT-M"]["message"] == error["message"]
    else:
        # The order is returnable: the refusal is about what the request says, and the
        # request that says it right is accepted.
        assert items["SHIRT-M"]["returnableQuantity"] == 2
        assert items["SHIRT-M"]["reason"] is None
        fix = rule["fix"]
        fixed = return_input(
            line(made["lines"]["SHIRT-M"], **{**rule.get("line", {}), **fix.get("line", {})}),
            expectedResolution=fix.get("resolution", "REFUND"),
        )
        created = (await gql.data(CREATE, {"input": fixed}))["rmaOrderCreate"]
        assert created["processingStatus"] == "NEW"


async def test_returnable_items_count_what_other_active_returns_hold(gql: GraphQLClient) -> None:
    made = await shop(gql)
    first = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 2))}))[
        "rmaOrderCreate"
    ]

    items = await returnable(gql, made["order"]["id"])
    refused = await gql.error(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 1))})
    await act(gql, first["id"], "cancel")
    after_cancel = await returnable(gql, made["order"]["id"])
    second = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"], 2))}))[
        "rmaOrderCreate"
    ]

    assert items["SHIRT-M"] == {
        "orderLineId": made["lines"]["SHIRT-M"],
        "sku": "SHIRT-M",
        "label": "Shirt M",
        "orderedQuantity": 2,
        "returnedQuantity": 2,
        "returnableQuantity": 0,
        "unitPrice": 25.5,
        "reason": "QUANTITY_EXCEEDS_RETURNABLE",
        "message": "1 unit(s) of SHIRT-M asked, 0 returnable (2 ordered, 2 already in other returns).",
        "returnDeadline": None,
    }
    assert (items["SHIRT-L"]["returnableQuantity"], items["SHIRT-L"]["reason"]) == (1, None)
    assert refused["extensions"]["reason"] == "QUANTITY_EXCEEDS_RETURNABLE"
    assert refused["message"] == items["SHIRT-M"]["message"]
    assert (after_cancel["SHIRT-M"]["returnedQuantity"], after_cancel["SHIRT-M"]["returnableQuantity"]) == (
        0,
        2,
    )
    assert second["lines"][0]["quantity"] == 2


async def test_two_lines_of_one_return_on_the_same_order_line_add_up(gql: GraphQLClient) -> None:
    made = await shop(gql)

    error = await gql.error(
        CREATE,
        {"input": return_input(line(made["lines"]["SHIRT-M"], 1), line(made["lines"]["SHIRT-M"], 2))},
    )

    assert (error["extensions"]["reason"], error["extensions"]["field"]) == (
        "QUANTITY_EXCEEDS_RETURNABLE",
        "input.lines[1].quantity",
    )


async def test_the_return_window_counts_from_delivery_and_staff_may_override_it_up_to_the_maximum(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    # Ordered long ago, delivered 10 days ago: within a 14-day window.
    recent = await shop(gql, orderedAt=_ago(60), shippedAt=_ago(12), deliveredAt=_ago(10))
    late = await shop(gql, "SO-1002", orderedAt=_ago(40), shippedAt=_ago(32), deliveredAt=_ago(30))
    too_late = await shop(gql, "SO-1003", orderedAt=_ago(70), shippedAt=_ago(62), deliveredAt=_ago(60))
    await configure(gql, authorizationDelay=14, maxAuthorizationDelay=45)

    within = (await gql.data(CREATE, {"input": return_input(line(recent["lines"]["SHIRT-M"]))}))[
        "rmaOrderCreate"
    ]
    items = await returnable(gql, late["order"]["id"])
    overridden = (
        await gql.data(
            CREATE,
            {
                "input": return_input(
                    line(late["lines"]["SHIRT-M"]),
                    returnWindowOverrideReason="Loyal customer, courier strike",
                )
            },
        )
    )["rmaOrderCreate"]
    before = await snapshot(engine, organization_id)
    beyond = await gql.error(
        CREATE,
        {"input": return_input(line(too_late["lines"]["SHIRT-M"]), returnWindowOverrideReason="Please")},
    )

    assert within["processingStatus"] == "NEW"
    assert items["SHIRT-M"]["reason"] == "RETURN_WINDOW_EXPIRED"
    assert items["SHIRT-M"]["returnDeadline"] is not None
    assert overridden["returnWindowOverrideReason"] == "Loyal customer, courier strike"
    assert beyond["extensions"]["reason"] == "RETURN_WINDOW_EXPIRED"
    assert "past the maximum an override allows" in beyond["message"]
    assert await snapshot(engine, organization_id) == before


async def test_submit_checks_the_policy_again(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql, orderedAt=_ago(60))
    await configure(gql, authorizationDelay=14)
    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"]))}))["rmaOrderCreate"]
    # The order turns out to have been delivered long ago.
    await gql.data(
        ORDER_UPDATE,
        {
            "id": made["order"]["id"],
            "input": {"shippedAt": _ago(45), "deliveredAt": _ago(40)},
        },
    )
    before = await snapshot(engine, organization_id)

    error = await gql.error(
        "mutation($id: String!) { rmaOrderSubmit(id: $id) { version } }", {"id": rma["id"]}
    )

    assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
        "BAD_USER_INPUT",
        "RETURN_WINDOW_EXPIRED",
    )
    assert error["extensions"]["field"] == "lines[0].orderLineId"
    assert await snapshot(engine, organization_id) == before


async def test_update_applies_the_policy_to_new_lines(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await shop(gql)
    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"]))}))["rmaOrderCreate"]
    before = await snapshot(engine, organization_id)

    error = await gql.error(
        UPDATE, {"id": rma["id"], "input": {"lines": [line(made["lines"]["SHIRT-L"], 2)]}}
    )
    updated = (
        await gql.data(UPDATE, {"id": rma["id"], "input": {"lines": [line(made["lines"]["SHIRT-L"], 1)]}})
    )["rmaOrderUpdate"]

    assert (error["extensions"]["reason"], error["extensions"]["field"]) == (
        "QUANTITY_EXCEEDS_RETURNABLE",
        "input.lines[0].quantity",
    )
    assert before != await snapshot(engine, organization_id)  # the second update applied
    assert [(x["sku"], x["price"], x["quantity"]) for x in updated["lines"]] == [("SHIRT-L", 20.0, 1)]
    assert [x["orderId"] for x in updated["linkedOrders"]] == [made["order"]["id"]]


async def test_the_policy_is_snapshotted_at_creation(gql: GraphQLClient) -> None:
    made = await shop(gql)
    await configure(gql, authorizationDelay=30)
    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"]))}))["rmaOrderCreate"]

    await configure(
        gql,
        needsPictures=True,
        requestProductState=True,
        reasonLines=["DEFECTIVE"],
        expectedResolutions=["VOUCHER"],
    )
    submitted = await act(gql, rma["id"], "submit")
    shown = (
        await gql.data(f"query($id: String) {{ rmaOrder(id: $id) {{ {RETURN_FIELDS} }} }}", {"id": rma["id"]})
    )["rmaOrder"]

    assert submitted["processingStatus"] == "REQUESTED"
    assert shown["returnPolicy"]["authorizationDelay"] == 30
    assert shown["returnPolicy"]["needsPictures"] is False
    assert shown["returnPolicy"]["reasonLines"] is None
    # A new return meets the new policy.
    error = await gql.error(CREATE, {"input": return_input(line(made["lines"]["SHIRT-L"]))})
    assert error["extensions"]["reason"] == "RESOLUTION_NOT_ALLOWED"


async def test_two_returns_of_one_order_line_at_the_same_moment_never_exceed_what_was_ordered(
    gql: GraphQLClient, server: Server
) -> None:
    made = await shop(gql)
    orders = [made] + [await shop(gql, f"SO-2{i:03}") for i in range(4)]

    for shop_order in orders:
        order_line = shop_order["lines"]["SHIRT-M"]
        bodies = await asyncio.gather(
            *(gql.execute(CREATE, {"input": return_input(line(order_line, 2))}) for _ in range(2))
        )

        created = [b for b in bodies if b.get("data") and b["data"]["rmaOrderCreate"]]
        refused = [b["errors"][0]["extensions"] for b in bodies if b.get("errors")]
        assert len(created) == 1, bodies
        assert [(e["code"], e["reason"]) for e in refused] == [
            ("BAD_USER_INPUT", "QUANTITY_EXCEEDS_RETURNABLE")
        ]
        items = await returnable(gql, shop_order["order"]["id"])
        assert (items["SHIRT-M"]["returnedQuantity"], items["SHIRT-M"]["returnableQuantity"]) == (2, 0)


async def test_the_order_return_status_follows_its_returns_and_filters_orders(gql: GraphQLClient) -> None:
    made = await shop(gql)
    failed = await shop(gql, "SO-1002")
    untouched = await shop(gql, "SO-1003")
    order_id = made["order"]["id"]

    async def status(order: str) -> str:
        return str((await gql.data(ORDER_STATUS, {"id": order}))["order"]["returnStatus"])

    seen = [await status(order_id)]
    rma = (await gql.data(CREATE, {"input": return_input(line(made["lines"]["SHIRT-M"]))}))["rmaOrderCreate"]
    seen.append(await status(order_id))
    await act(gql, rma["id"], "submit")
    seen.append(await status(order_id))
    await act(gql, rma["id"], "accept")
    seen.append(await status(order_id))
    await act(gql, rma["id"], "startFulfillment")
    await act(gql, rma["id"], "completeProcessing")
    seen.append(await status(order_id))
    rejected = (await gql.data(CREATE, {"input": return_input(line(failed["lines"]["SHIRT-L"]))}))[
        "rmaOrderCreate"
    ]
    await act(gql, rejected["id"], "submit")
    await act(gql, rejected["id"], "reject")

    assert seen == ["NO_RETURN", "RETURN_REQUESTED", "RETURN_REQUESTED", "IN_PROGRESS", "RETURNED"]
    by_status = {}
    for wanted in ("NO_RETURN", "RETURNED", "RETURN_FAILED", "IN_PROGRESS"):
        page = await gql.data(
            "query($s: [OrderReturnStatus!]) { orders(filter: {returnStatus: $s}) { nodes { id } totalCount } }",
            {"s": [wanted]},
        )
        by_status[wanted] = [node["id"] for node in page["orders"]["nodes"]]
    assert by_status == {
        "NO_RETURN": [untouched["order"]["id"]],
        "RETURNED": [order_id],
        "RETURN_FAILED": [failed["order"]["id"]],
        "IN_PROGRESS": [],
    }


async def test_unlinking_an_order_gives_it_back_its_return_status(gql: GraphQLClient) -> None:
    made = await shop(gql)
    rma = (
        await gql.data(
            CREATE,
            {
                "input": return_input(
                    {"sku": "SHIRT-M", "quantity": 1, "reason": "DEFECTIVE"},
                    linkedOrders=[{"orderId": made["order"]["id"]}],
                )
            },
        )
    )["rmaOrderCreate"]
    linked = (await gql.data(ORDER_STATUS, {"id": made["order"]["id"]}))["order"]["returnStatus"]

    await gql.data(UPDATE, {"id": rma["id"], "input": {"linkedOrders": []}})

    assert linked == "RETURN_REQUESTED"
    assert (await gql.data(ORDER_STATUS, {"id": made["order"]["id"]}))["order"]["returnStatus"] == "NO_RETURN"


async def test_returnable_items_of_an_unknown_order_is_not_found(gql: GraphQLClient) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"

    error = await gql.error(RETURNABLE, {"orderId": unknown})

    assert (error["extensions"]["code"], error["extensions"]["id"]) == ("NOT_FOUND", unknown)
