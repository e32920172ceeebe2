"""The search text of an RMA order is kept in a table of its own: written at creation and
when a field it is made of changes, never by a status change, and what ``filter.search``
finds."""

import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from tests.conftest import DATABASE, GraphQLClient, Server, app_client
from tests.helpers import act, create

SEARCH = "query($s: String!) { rmaOrders(filter: {search: $s}) { nodes { id } } }"
CORRECT = """
mutation($id: String!, $input: RmaOrderCorrectionInput!) {
  rmaOrderCorrect(id: $id, input: $input) { id version }
}"""


async def _found(gql: GraphQLClient, term: str) -> list[str]:
    return [node["id"] for node in (await gql.data(SEARCH, {"s": term}))["rmaOrders"]["nodes"]]


async def _search_row(server: Server, rma_id: str) -> tuple[str, str]:
    """The search row's text and the transaction that wrote it last (PostgreSQL's xmin)."""
    async with server.engines[0].connect() as conn:
        found = await conn.execute(
            text("SELECT search_text, xmin::text AS xmin FROM rma_order_search WHERE rma_order_id = :id"),
            {"id": rma_id},
        )
        row = found.one()
    return row.search_text, row.xmin


async def _rma_row_writer(server: Server, rma_id: str) -> str:
    async with server.engines[0].connect() as conn:
        found = await conn.execute(text("SELECT xmin::text FROM rma_order WHERE id = :id"), {"id": rma_id})
        return str(found.scalar_one())


async def test_the_search_finds_what_the_text_holds_before_and_after_changes(gql: GraphQLClient) -> None:
    rma = await create(gql, sender={"fullname": "Grace Hopper", "email": "grace@example.com"})
    other = await create(gql, sender={"fullname": "Alan Turing", "email": "alan@example.com"})
    assert await _found(gql, "grace@example") == [rma["id"]]
    await act(gql, rma["id"], "submit")
    await act(gql, rma["id"], "accept")
    # Status changes keep it findable by the same text.
    assert await _found(gql, "grace hopper") == [rma["id"]]
    assert await _found(gql, rma["returnReference"]) == [rma["id"]]
    corrected = {"sender": {"fullname": "Grace B. Hopper", "email": "gbh@example.com"}}
    await gql.data(CORRECT, {"id": rma["id"], "input": corrected})
    # A corrected sender is found by its new email, no longer by the old one.
    assert await _found(gql, "gbh@example") == [rma["id"]]
    assert await _found(gql, "grace@example") == []
    assert await _found(gql, "alan@example") == [other["id"]]


async def test_the_whole_search_is_matched_not_only_the_piece_the_index_is_asked_for(
    app: Starlette, gql: GraphQLClient
) -> None:
    """The trigram index is asked for a search's digits (``334333``); what is listed holds the
    whole search, as written (``_`` and ``%`` are characters, not wildcards), in the caller's
    organization only."""
    wanted = await create(gql, externalReference="rma-334333", sender={"fullname": "Ada", "email": "a@x.io"})
    await create(gql, externalReference="xyz-334333", sender={"fullname": "Ada", "email": "a@x.io"})
    underscore = await create(
        gql, externalReference="rma_334333", sender={"fullname": "Ada", "email": "a@x.io"}
    )
    percent = await create(
        gql, externalReference="100%-334333", sender={"fullname": "Ada", "email": "a@x.io"}
    )
    async with app_client(app) as other:
        await create(other, externalReference="rma-334333", sender={"fullname": "Ada", "email": "a@x.io"})

    assert await _found(gql, "RMA-334333") == [wanted["id"]]
    assert await _found(gql, "0%-33") == [percent["id"]]
    assert await _found(gql, "a_3") == [underscore["id"]]
    assert len(await _found(gql, "334333")) == 4


@pytest.mark.skipif(DATABASE != "postgresql", reason="PostgreSQL's xmin tells which transaction wrote a row")
async def test_status_changes_do_not_write_the_search_row(server: Server, gql: GraphQLClient) -> None:
    rma = await create(gql, sender={"fullname": "Grace Hopper", "email": "grace@example.com"})
    created_text, created_by = await _search_row(server, rma["id"])
    rma_written_by = await _rma_row_writer(server, rma["id"])
    assert "grace@example.com" in created_text

    await act(gql, rma["id"], "submit")
    await act(gql, rma["id"], "accept")

    # The RMA row has a newer version; its search row is the one its creation wrote.
    assert await _rma_row_writer(server, rma["id"]) != rma_written_by
    assert await _search_row(server, rma["id"]) == (created_text, created_by)

    await gql.data(CORRECT, {"id": rma["id"], "input": {"externalReference": "TICKET-9"}})
    corrected_text, corrected_by = await _search_row(server, rma["id"])
    assert corrected_by != created_by
    assert "ticket-9" in corrected_text
