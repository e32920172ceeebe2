"""A page of RMA orders with its relations costs the same SQL for 1 order as for 100."""

from typing import Any

from sqlalchemy import event

from tests.conftest import GraphQLClient, Server
from tests.helpers import create

PAGE = """
{ rmaOrders(first: 100) {
    totalCount
    nodes { id returnReference lines { sku quantity price } location { id name } financialResolutions { id amount } linkedOrders { orderId } organization { name } }
} }
"""


async def _statements(server: Server, gql: GraphQLClient) -> tuple[int, dict[str, Any]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    sync_engine = server.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        data = await gql.data(PAGE)
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    return len(statements), data


async def test_page_of_one_and_of_a_hundred_issue_the_same_statements(
    server: Server, gql: GraphQLClient
) -> None:
    await create(gql, linkedOrders=[{"orderId": "O-1"}])
    one, data_one = await _statements(server, gql)
    for i in range(99):
        await create(gql, linkedOrders=[{"orderId": f"O-{i}"}])

    hundred, data_hundred = await _statements(server, gql)

    assert len(data_one["rmaOrders"]["nodes"]) == 1
    assert len(data_hundred["rmaOrders"]["nodes"]) == 100
    assert all(len(node["lines"]) == 2 for node in data_hundred["rmaOrders"]["nodes"])
    assert one == hundred == 7
