"""A create's rows, on each database: the RMA order with its return number and reference,
its search text, its lines (every field given, a list of pictures among them) and its linked
orders, written by one statement with the number on PostgreSQL and by one statement each on
SQLite; and a create the database refuses takes no number."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from rma_graphql.db import repository as repo
from rma_graphql.service.return_requests import search_text
from tests.conftest import GraphQLClient, Server
from tests.helpers import CREATE, create, rma_input

SHOWN = """
query($id: String!) { rmaOrder(id: $id) {
  returnNumber returnReference issuedAt externalId externalReference
  lines { sku label reference quantity reason productState price serialNumber comment pictures }
  linkedOrders { orderId externalReference }
} }"""
PICTURE = "https://pictures.example/returns/1.jpg"
SENDER = {"fullname": "Grace Hopper", "email": "Grace@Example.com"}
LINES: list[dict[str, Any]] = [
    {
        "sku": "SKU-RED-M",
        "label": "Red shirt",
        "reference": "REF-1",
        "quantity": 2,
        "reason": "DEFECTIVE",
        "productState": "DAMAGED",
        "price": 25.5,
        "serialNumber": "SN-42",
        "comment": "torn seam",
        "pictures": [PICTURE],
    },
    {"sku": "SKU-BLUE-L", "quantity": 1, "reason": "SIZE_PROBLEM"},
]


async def _search_text(server: Server, rma_id: str) -> str:
    """The search row's text (test_search_text's reader adds PostgreSQL's xmin)."""
    async with server.engines[0].connect() as conn:
        found = await conn.execute(
            text("SELECT search_text FROM rma_order_search WHERE rma_order_id = :id"), {"id": rma_id}
        )
        return str(found.scalar_one())


async def test_a_create_writes_its_number_reference_search_text_lines_and_linked_orders(
    server: Server, gql: GraphQLClient
) -> None:
    before = await create(gql)
    made = await create(
        gql,
        externalId="EXT-7",
        externalReference="Shop-77",
        sender=SENDER,
        lines=LINES,
        linkedOrders=[{"orderId": "O-1", "externalReference": "#1001"}, {"orderId": "O-2"}],
    )

    shown = (await gql.data(SHOWN, {"id": made["id"]}))["rmaOrder"]
    assert shown["returnNumber"] == made["returnNumber"] == before["returnNumber"] + 1
    year = datetime.fromisoformat(shown["issuedAt"]).year
    assert shown["returnReference"] == f"RMA-{year}-{shown['returnNumber']}"
    assert (shown["externalId"], shown["externalReference"]) == ("EXT-7", "Shop-77")
    assert shown["lines"] == [
        LINES[0],
        {
            **LINES[1],
            "label": None,
            "reference": None,
            "productState": None,
            "price": None,
            "serialNumber": None,
            "comment": None,
            "pictures": [],
        },
    ]
    assert shown["linkedOrders"] == [
        {"orderId": "O-1", "externalReference": "#1001"},
        {"orderId": "O-2", "externalReference": None},
    ]
    assert await _search_text(server, made["id"]) == search_text(
        return_reference=shown["returnReference"],
        external_id="EXT-7",
        external_reference="Shop-77",
        sender=SENDER,
        skus=["SKU-RED-M", "SKU-BLUE-L"],
    )
    # Without the optional parts, the search text is the reference, the sender and the skus.
    plain = await create(gql, sender={"fullname": "Ada"}, lines=LINES[1:])
    plain_reference = (await gql.data(SHOWN, {"id": plain["id"]}))["rmaOrder"]["returnReference"]
    assert await _search_text(server, plain["id"]) == f"{plain_reference.lower()}\nada\nsku-blue-l"


async def test_a_create_the_database_refuses_takes_no_number_and_writes_nothing(
    server: Server, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id a create asks for is taken between its check and its insert (as by a
    concurrent create): the database refuses the insert, the create is refused with the
    cause, and the next create gets the number it would have had."""
    taken = await create(gql)
    monkeypatch.setattr(repo, "rma_exists", _never_exists)

    answer = await gql.execute(CREATE, {"input": rma_input(id=taken["id"], externalId="EXT-LOST")})

    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
    assert taken["id"] in answer["errors"][0]["message"]
    async with server.engines[0].connect() as conn:
        lost = await conn.execute(text("SELECT count(*) FROM rma_order WHERE external_id = 'EXT-LOST'"))
        assert lost.scalar_one() == 0
        lines = await conn.execute(
            text("SELECT count(*) FROM rma_order_line WHERE rma_order_id = :id"), {"id": taken["id"]}
        )
        assert lines.scalar_one() == len(rma_input()["lines"])
    following = await create(gql)
    assert following["returnNumber"] == taken["returnNumber"] + 1


async def _never_exists(*_: Any) -> bool:
    return False
