"""Comments, the change feed and the event log's guarantees (CONTRACT §6–7)."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from rma_graphql.db import tables as t
from rma_graphql.db.revisions import revision_from_state
from tests.api.test_subscriptions import COMMENT, FEED
from tests.conftest import GraphQLClient, Server
from tests.helpers import act, action_document, create, get

COMMENTS = """
query Comments($id: String) {
  rmaOrder(id: $id) {
    version
    comments { id text visibility author { type id name } createdAt }
    history { sequence type version comment }
  }
}
"""


async def _state(gql: GraphQLClient, rma_id: str) -> dict[str, Any]:
    return (await gql.data(COMMENTS, {"id": rma_id}))["rmaOrder"]  # type: ignore[no-any-return]


async def _feed(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    return (await gql.data(FEED, {"first": 1000, **variables}))["rmaOrderEvents"]  # type: ignore[no-any-return]


async def test_a_comment_is_one_event_and_one_version(gql: GraphQLClient) -> None:
    rma = await create(gql)

    first = (await gql.data(COMMENT, {"id": rma["id"], "text": "Called the customer"}))["rmaOrderCommentAdd"]
    second = (await gql.data(COMMENT, {"id": rma["id"], "text": "Label sent", "visibility": "CUSTOMER"}))[
        "rmaOrderCommentAdd"
    ]
    state = await _state(gql, rma["id"])

    assert (first["version"], second["version"]) == (2, 3)
    assert [(c["text"], c["visibility"]) for c in state["comments"]] == [
        ("Called the customer", "INTERNAL"),
        ("Label sent", "CUSTOMER"),
    ]
    assert {c["author"]["name"] for c in state["comments"]} == {"API client"}
    assert [(e["sequence"], e["type"], e["version"], e["comment"]) for e in state["history"]] == [
        (1, "CREATED", 1, None),
        (2, "COMMENT_ADDED", 2, "Called the customer"),
        (3, "COMMENT_ADDED", 3, "Label sent"),
    ]


@pytest.mark.parametrize(
    "status_actions", [["delete"], ["submit", "accept", "startFulfillment", "completeProcessing"]]
)
async def test_closed_returns_still_take_comments(gql: GraphQLClient, status_actions: list[str]) -> None:
    rma = await create(gql)
    for action in status_actions:
        rma = await act(gql, rma["id"], action)

    result = (await gql.data(COMMENT, {"id": rma["id"], "text": "Customer called again"}))[
        "rmaOrderCommentAdd"
    ]

    assert result["version"] == rma["version"] + 1


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"text": "   "}, "BAD_USER_INPUT", "text"),
        ({"text": "x" * 10_001}, "BAD_USER_INPUT", "text"),
        ({"text": "ok", "visibility": "PUBLIC"}, "BAD_USER_INPUT", "visibility"),
        ({"text": "ok", "expectedVersion": 7}, "CONFLICT", None),
    ],
)
async def test_a_refused_comment_changes_nothing(
    gql: GraphQLClient, variables: dict[str, Any], code: str, field: str | None
) -> None:
    rma = await create(gql)
    before = await _state(gql, rma["id"])
    feed_before = await _feed(gql)

    error = await gql.error(
        "mutation C($id: String!, $text: String!, $visibility: RmaCommentVisibility, $expectedVersion: Int) {"
        " rmaOrderCommentAdd(id: $id, text: $text, visibility: $visibility, expectedVersion: $expectedVersion)"
        " { id } }",
        {"id": rma["id"], **variables},
    )

    assert error["extensions"]["code"] == code
    assert error["extensions"].get("field") == field
    assert await _state(gql, rma["id"]) == before
    assert await _feed(gql) == feed_before


async def test_commenting_an_unknown_rma_is_not_found(gql: GraphQLClient) -> None:
    missing = "0b8f7a52-1111-4222-8333-444455556666"

    error = await gql.error(COMMENT, {"id": missing, "text": "hello"})

    assert error["extensions"] == {"code": "NOT_FOUND", "id": missing}
    assert (await _feed(gql))["totalCount"] == 0


async def test_the_change_feed_pages_by_position_and_filters(gql: GraphQLClient) -> None:
    first = await create(gql)
    second = await create(gql)
    await act(gql, first["id"], "submit")
    await act(gql, second["id"], "submit")
    await act(gql, first["id"], "accept")

    everything = await _feed(gql)
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        page = await _feed(gql, first=2, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    only_first = await _feed(gql, rmaOrderId=first["id"])
    submitted = await _feed(gql, types=["SUBMITTED"])

    nodes = [edge["node"] for edge in everything["edges"]]
    assert [(n["rmaOrderId"], n["type"]) for n in nodes] == [
        (first["id"], "CREATED"),
        (second["id"], "CREATED"),
        (first["id"], "SUBMITTED"),
        (second["id"], "SUBMITTED"),
        (first["id"], "ACCEPTED"),
    ]
    assert [edge["cursor"] for edge in everything["edges"]] == [n["position"] for n in nodes]
    assert [n["position"] for n in nodes] == sorted(n["position"] for n in nodes)
    assert [int(n["position"]) for n in nodes] == [1, 2, 3, 4, 5]
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [e["node"] for page in pages for e in page["edges"]] == nodes
    assert {page["totalCount"] for page in pages} == {5}
    assert [e["node"]["type"] for e in only_first["edges"]] == ["CREATED", "SUBMITTED", "ACCEPTED"]
    assert only_first["totalCount"] == 3
    assert [e["node"]["rmaOrderId"] for e in submitted["edges"]] == [first["id"], second["id"]]


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"after": "12"}, "after"), ({"after": "abcdefabcdef"}, "after"), ({"first": 1001}, "first")],
)
async def test_the_change_feed_refuses_bad_paging(
    gql: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    error = await gql.error(FEED, variables)

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_a_refused_action_takes_no_position(gql: GraphQLClient) -> None:
    rma = await create(gql)

    error = await gql.error(action_document("accept"), {"id": rma["id"]})
    await act(gql, rma["id"], "submit")

    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert [int(e["node"]["position"]) for e in (await _feed(gql))["edges"]] == [1, 2]


async def test_positions_follow_commit_order_for_a_reader_that_polls(gql: GraphQLClient) -> None:
    rmas = [await create(gql) for _ in range(4)]
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []

    async def write(rma_id: str) -> None:
        for i in range(15):
            await gql.data(COMMENT, {"id": rma_id, "text": f"{rma_id} {i}"})

    async def read() -> None:
        # A reader that resumes from the last position it saw misses an event exactly
        # when one with a lower position commits after it read a higher one.
        after = seen[-1]["position"] if seen else None
        while True:
            finished = done.is_set()
            page = await _feed(gql, after=after)
            seen.extend(edge["node"] for edge in page["edges"])
            after = page["pageInfo"]["endCursor"] or after
            if finished:
                return

    await _feed(gql)
    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(rma["id"]) for rma in rmas))
    done.set()
    await reader

    everything = [edge["node"] for edge in (await _feed(gql))["edges"]]
    assert len(everything) == 4 + 60
    assert [int(n["position"]) for n in everything] == list(range(1, 65))
    assert seen == everything
    for rma in rmas:
        sequences = [n["sequence"] for n in everything if n["rmaOrderId"] == rma["id"]]
        assert sequences == list(range(1, 17))


async def test_each_version_is_kept_exactly_as_committed(server: Server, gql: GraphQLClient) -> None:
    rma = await create(gql, autoGenerateFinancialResolution=True, linkedOrders=[{"orderId": "ORD-1"}])
    steps: list[tuple[str, dict[str, Any]]] = [
        ("update", {}),
        ("submit", {}),
        ("accept", {}),
        ("startFulfillment", {}),
        ("completeProcessing", {}),
    ]

    for action, variables in steps:
        rma = await act(gql, rma["id"], action, **variables)
        async with server.engine.connect() as conn:
            row = (
                (await conn.execute(select(t.rma_order).where(t.rma_order.c.id == rma["id"])))
                .mappings()
                .one()
            )
            children = {}
            for name, table, order in (
                ("lines", t.rma_order_line, t.rma_order_line.c.position),
                ("linked_orders", t.rma_linked_order, t.rma_linked_order.c.position),
                (
                    "financial_resolutions",
                    t.rma_financial_resolution,
                    t.rma_financial_resolution.c.created_at,
                ),
            ):
                result = await conn.execute(
                    select(table).where(table.c.rma_order_id == rma["id"]).order_by(order)
                )
                children[name] = [dict(r) for r in result.mappings()]
            state = (
                await conn.execute(
                    select(t.rma_order_revision.c.state).where(
                        t.rma_order_revision.c.rma_order_id == rma["id"],
                        t.rma_order_revision.c.version == rma["version"],
                    )
                )
            ).scalar_one()
        revision = revision_from_state(state)

        assert revision.row == dict(row)
        assert revision.lines == children["lines"]
        assert revision.linked_orders == children["linked_orders"]
        assert revision.financial_resolutions == children["financial_resolutions"]
    assert (await get(gql, rma["id"]))["processingStatus"] == "COMPLETE"
    assert len(children["financial_resolutions"]) == 1
