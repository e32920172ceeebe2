"""Products, SKUs with stock per location, customers and orders: create, update, query."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import GraphQLClient, Server
from tests.helpers import snapshot

PRODUCT = "mutation($input: ProductCreateInput!) { productCreate(input: $input) { id name price currency } }"
SKU = """
mutation($input: SkuCreateInput!) {
  skuCreate(input: $input) { id sku variation product { name } stock { quantity location { name } } }
}
"""
CUSTOMER = "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { id name email address { city } } }"
ORDER_FIELDS = """
  id externalReference tpAppId currency shippingAmount status orderedAt shippedAt deliveredAt
  customer { name } lines { sku label quantity unitPrice }
"""
ORDER = f"mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{ {ORDER_FIELDS} }} }}"
ORDER_UPDATE = f"mutation($id: String!, $input: OrderUpdateInput!) {{ orderUpdate(id: $id, input: $input) {{ {ORDER_FIELDS} }} }}"


async def _location(gql: GraphQLClient) -> str:
    location_id: str = (await gql.data("{ locations { id } }"))["locations"][0]["id"]
    return location_id


async def catalog(gql: GraphQLClient) -> dict[str, Any]:
    """A shirt in two sizes, with stock at the warehouse, and a customer."""
    location = await _location(gql)
    shirt = (await gql.data(PRODUCT, {"input": {"name": "Shirt", "price": 25.5}}))["productCreate"]
    skus = [
        (
            await gql.data(
                SKU,
                {
                    "input": {
                        "productId": shirt["id"],
                        "sku": code,
                        "variation": size,
                        "stock": [{"locationId": location, "quantity": 10}],
                    }
                },
            )
        )["skuCreate"]
        for code, size in (("SHIRT-M", "M"), ("SHIRT-L", "L"))
    ]
    customer = (
        await gql.data(
            CUSTOMER,
            {"input": {"name": "Ada Lovelace", "email": "ada@example.com", "address": {"city": "London"}}},
        )
    )["customerCreate"]
    return {"location": location, "product": shirt, "skus": skus, "customer": customer}


def order_input(customer_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "externalReference": "SO-1001",
        "customerId": customer_id,
        "lines": [{"sku": "SHIRT-M", "quantity": 2}, {"sku": "SHIRT-L", "quantity": 1, "unitPrice": 20}],
        "shippingAmount": 4.9,
        "status": "DELIVERED",
        "orderedAt": "2026-11-01T10:00:00+00:00",
        "shippedAt": "2026-11-02T10:00:00+00:00",
        "deliveredAt": "2026-11-04T10:00:00+00:00",
    }
    data.update(overrides)
    return data


async def test_products_skus_and_stock(gql: GraphQLClient) -> None:
    made = await catalog(gql)

    updated = await gql.data(
        "mutation($id: String!, $input: SkuUpdateInput!) { skuUpdate(id: $id, input: $input) { variation stock { quantity } } }",
        {
            "id": made["skus"][0]["id"],
            "input": {"variation": "Medium", "stock": [{"locationId": made["location"], "quantity": 7}]},
        },
    )
    product = (
        await gql.data(
            "query($id: String!) { product(id: $id) { name price skus { sku variation stock { quantity } } } }",
            {"id": made["product"]["id"]},
        )
    )["product"]
    by_code = (await gql.data('{ sku(sku: "SHIRT-L") { id product { name } } }'))["sku"]

    assert made["product"] == {"id": made["product"]["id"], "name": "Shirt", "price": 25.5, "currency": "EUR"}
    assert made["skus"][0]["stock"] == [{"quantity": 10, "location": {"name": "Main warehouse"}}]
    assert made["skus"][0]["product"] == {"name": "Shirt"}
    assert updated == {"skuUpdate": {"variation": "Medium", "stock": [{"quantity": 7}]}}
    assert product == {
        "name": "Shirt",
        "price": 25.5,
        "skus": [
            {"sku": "SHIRT-M", "variation": "Medium", "stock": [{"quantity": 7}]},
            {"sku": "SHIRT-L", "variation": "L", "stock": [{"quantity": 10}]},
        ],
    }
    assert by_code == {"id": made["skus"][1]["id"], "product": {"name": "Shirt"}}


async def test_an_order_takes_catalog_prices_and_labels_unless_given(gql: GraphQLClient) -> None:
    made = await catalog(gql)

    order = (await gql.data(ORDER, {"input": order_input(made["customer"]["id"])}))["orderCreate"]

    assert order["lines"] == [
        {"sku": "SHIRT-M", "label": "Shirt M", "quantity": 2, "unitPrice": 25.5},
        {"sku": "SHIRT-L", "label": "Shirt L", "quantity": 1, "unitPrice": 20.0},
    ]
    assert (order["status"], order["shippingAmount"], order["currency"]) == ("DELIVERED", 4.9, "EUR")
    assert order["customer"] == {"name": "Ada Lovelace"}
    assert (order["shippedAt"], order["deliveredAt"]) == (
        "2026-11-02T10:00:00+00:00",
        "2026-11-04T10:00:00+00:00",
    )


async def test_order_refusals_name_their_cause_and_change_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await catalog(gql)
    await gql.data(ORDER, {"input": order_input()})
    before = await snapshot(engine, organization_id)
    cases = [
        (order_input(externalReference="SO-2", lines=[]), "input.lines"),
        (order_input(externalReference="SO-2", lines=[{"sku": "NOPE", "quantity": 1}]), "input.lines[0].sku"),
        (
            order_input(externalReference="SO-2", lines=[{"sku": "SHIRT-M", "quantity": 0}]),
            "input.lines[0].quantity",
        ),
        (
            order_input(externalReference="SO-2", lines=[{"sku": "SHIRT-M", "quantity": 1, "unitPrice": -1}]),
            "input.lines[0].unitPrice",
        ),
        (order_input(externalReference="SO-2", currency="XYZ"), "input.currency"),
        (
            order_input(externalReference="SO-2", currency="USD", lines=[{"sku": "SHIRT-M", "quantity": 1}]),
            "input.lines[0].unitPrice",
        ),
        (
            order_input(externalReference="SO-2", customerId="6f0b5c1e-0000-4000-8000-000000000000"),
            "input.customerId",
        ),
        (order_input(externalReference="SO-2", shippedAt=None), "input.shippedAt"),
        (order_input(externalReference="SO-2", deliveredAt="2026-11-01T12:00:00+00:00"), "input.deliveredAt"),
        (order_input(externalReference=""), "input.externalReference"),
        (order_input(), "input.externalReference"),
    ]

    errors = [await gql.error(ORDER, {"input": data}) for data, _ in cases]

    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [
        ("BAD_USER_INPUT", field) for _, field in cases
    ]
    assert errors[-1]["extensions"]["existingId"]
    assert await snapshot(engine, organization_id) == before
    assert made["customer"]["address"] == {"city": "London"}


async def test_the_same_reference_under_another_tp_app_is_another_order(gql: GraphQLClient) -> None:
    await catalog(gql)

    first = (await gql.data(ORDER, {"input": order_input()}))["orderCreate"]
    other_app = (await gql.data(ORDER, {"input": order_input(tpAppId="shopify")}))["orderCreate"]

    assert first["id"] != other_app["id"]
    assert (first["tpAppId"], other_app["tpAppId"]) == (None, "shopify")


async def test_order_updates_keep_dates_consistent(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    await catalog(gql)
    order = (await gql.data(ORDER, {"input": order_input(status="PAID", shippedAt=None, deliveredAt=None)}))[
        "orderCreate"
    ]

    shipped = (
        await gql.data(
            ORDER_UPDATE,
            {"id": order["id"], "input": {"status": "SHIPPED", "shippedAt": "2026-11-03T08:00:00+00:00"}},
        )
    )["orderUpdate"]
    before = await snapshot(engine, organization_id)
    early = await gql.error(
        ORDER_UPDATE,
        {"id": order["id"], "input": {"status": "DELIVERED", "deliveredAt": "2026-11-02T08:00:00+00:00"}},
    )
    missing = await gql.error(ORDER_UPDATE, {"id": order["id"], "input": {"status": "DELIVERED"}})
    unknown = await gql.error(
        ORDER_UPDATE, {"id": "6f0b5c1e-0000-4000-8000-000000000000", "input": {"status": "PAID"}}
    )
    unchanged = await snapshot(engine, organization_id)

    assert (shipped["status"], shipped["shippedAt"]) == ("SHIPPED", "2026-11-03T08:00:00+00:00")
    assert early["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.deliveredAt"}
    assert missing["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.deliveredAt"}
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    assert unchanged == before


async def test_lists_filter_search_and_page(gql: GraphQLClient) -> None:
    made = await catalog(gql)
    other = (await gql.data(CUSTOMER, {"input": {"name": "Grace Hopper", "phone": "+1 555 0100"}}))[
        "customerCreate"
    ]
    for i in range(5):
        await gql.data(
            ORDER,
            {
                "input": order_input(
                    made["customer"]["id"] if i % 2 else other["id"], externalReference=f"SO-{i}"
                )
            },
        )
    await gql.data(
        ORDER,
        {"input": order_input(externalReference="SO-PAID", status="PAID", shippedAt=None, deliveredAt=None)},
    )

    first = (
        await gql.data(
            "{ orders(first: 4) { totalCount nodes { externalReference } pageInfo { hasNextPage endCursor } } }"
        )
    )["orders"]
    rest = (
        await gql.data(
            "query($after: String) { orders(first: 4, after: $after) { nodes { externalReference } pageInfo { hasNextPage } } }",
            {"after": first["pageInfo"]["endCursor"]},
        )
    )["orders"]
    delivered_to_ada = (
        await gql.data(
            "query($c: String) { orders(filter: {status: [DELIVERED], customerId: $c}) { nodes { externalReference } } }",
            {"c": made["customer"]["id"]},
        )
    )["orders"]
    searched = await gql.data(
        '{ orders(filter: {search: "so-paid"}) { nodes { status } } customers(filter: {search: "HOPPER"}) { nodes { name phone } } products(filter: {search: "shirt"}) { totalCount } }'
    )

    assert first["totalCount"] == 6
    assert [n["externalReference"] for n in first["nodes"]] == ["SO-PAID", "SO-4", "SO-3", "SO-2"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest == {
        "nodes": [{"externalReference": "SO-1"}, {"externalReference": "SO-0"}],
        "pageInfo": {"hasNextPage": False},
    }
    assert [n["externalReference"] for n in delivered_to_ada["nodes"]] == ["SO-3", "SO-1"]
    assert searched["orders"]["nodes"] == [{"status": "PAID"}]
    assert searched["customers"]["nodes"] == [{"name": "Grace Hopper", "phone": "+1 555 0100"}]
    assert searched["products"]["totalCount"] == 1


async def test_catalog_refusals_name_their_cause_and_change_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    made = await catalog(gql)
    before = await snapshot(engine, organization_id)

    duplicate = await gql.error(SKU, {"input": {"productId": made["product"]["id"], "sku": "SHIRT-M"}})
    unknown_product = await gql.error(
        SKU, {"input": {"productId": "6f0b5c1e-0000-4000-8000-000000000000", "sku": "X"}}
    )
    bad_stock = await gql.error(
        SKU,
        {
            "input": {
                "productId": made["product"]["id"],
                "sku": "SHIRT-S",
                "stock": [{"locationId": made["location"], "quantity": -1}],
            }
        },
    )
    unknown_location = await gql.error(
        SKU,
        {
            "input": {
                "productId": made["product"]["id"],
                "sku": "SHIRT-S",
                "stock": [{"locationId": "6f0b5c1e-0000-4000-8000-000000000000", "quantity": 1}],
            }
        },
    )
    negative_price = await gql.error(PRODUCT, {"input": {"name": "Hat", "price": -2}})
    blank_name = await gql.error(CUSTOMER, {"input": {"name": " "}})
    missing_product = await gql.error(
        "query($id: String!) { product(id: $id) { id } }", {"id": "6f0b5c1e-0000-4000-8000-000000000000"}
    )

    assert duplicate["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.sku"}
    assert unknown_product["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.productId"}
    assert bad_stock["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.stock[0].quantity"}
    assert unknown_location["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.stock[0].locationId"}
    assert negative_price["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.price"}
    assert blank_name["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
    assert missing_product["extensions"]["code"] == "NOT_FOUND"
    assert await snapshot(engine, organization_id) == before


async def test_another_organization_sees_none_of_it(server: Server, gql: GraphQLClient) -> None:
    from rma_graphql.db.engine import create_engine
    from rma_graphql.service.organizations import create_organization
    from rma_graphql.service.unit_of_work import UnitOfWork

    made = await catalog(gql)
    order = (await gql.data(ORDER, {"input": order_input(made["customer"]["id"])}))["orderCreate"]
    engine = create_engine(server.settings)
    try:
        other_id = await create_organization(UnitOfWork(engine), "Other merchant")
    finally:
        await engine.dispose()
    async with await server.client(other_id) as http:
        other = GraphQLClient(http)
        lists = await other.data("{ products { totalCount } customers { totalCount } orders { totalCount } }")
        by_id = [
            await other.error("query($id: String!) { order(id: $id) { id } }", {"id": order["id"]}),
            await other.error(
                "query($id: String!) { customer(id: $id) { id } }", {"id": made["customer"]["id"]}
            ),
            await other.error('{ sku(sku: "SHIRT-M") { id } }'),
        ]
        foreign_customer = await other.error(ORDER, {"input": order_input(made["customer"]["id"])})
        same_code = (await other.data(PRODUCT, {"input": {"name": "Their shirt"}}))["productCreate"]
        their_sku = await other.data(SKU, {"input": {"productId": same_code["id"], "sku": "SHIRT-M"}})

    assert lists == {
        "products": {"totalCount": 0},
        "customers": {"totalCount": 0},
        "orders": {"totalCount": 0},
    }
    assert [e["extensions"]["code"] for e in by_id] == ["NOT_FOUND"] * 3
    assert foreign_customer["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.customerId"}
    assert their_sku["skuCreate"]["sku"] == "SHIRT-M"
