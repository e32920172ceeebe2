"""Idempotency keys: a mutation sent again with its key answers as the first time did and runs
once, whether the retries come one after another or all at once; a key sent with another
request is refused; an answer lost with its server process is rebuilt."""

import asyncio
import os
import socket
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from rma_graphql.db import tables as t
from tests.conftest import GraphQLClient, Server
from tests.helpers import CREATE, LOG_IN, action_document, create, rma_input, snapshot


async def send(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], key: str | bytes | None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def rma_count(engine: AsyncEngine, organization_id: str) -> int:
    async with engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(t.rma_order)
            .where(t.rma_order.c.organization_id == organization_id)
        )
        return int((await conn.execute(query)).scalar_one())


async def test_a_retry_answers_the_same_without_running_again(
    http: httpx.AsyncClient, engine: AsyncEngine, organization_id: str
) -> None:
    variables = {"input": rma_input()}
    first = await send(http, CREATE, variables, "create-1")
    assert first.status_code == 200
    assert "errors" not in first.json()
    assert "idempotent-replayed" not in first.headers
    again = await send(http, CREATE, variables, "create-1")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await rma_count(engine, organization_id) == 1
    # Another key is another request.
    other = await send(http, CREATE, variables, "create-2")
    assert other.json()["data"]["rmaOrderCreate"]["id"] != first.json()["data"]["rmaOrderCreate"]["id"]
    assert await rma_count(engine, organization_id) == 2


async def test_a_key_sent_with_another_request_is_refused(
    http: httpx.AsyncClient, engine: AsyncEngine, organization_id: str
) -> None:
    await send(http, CREATE, {"input": rma_input()}, "key-a")
    before = await snapshot(engine, organization_id)
    reused = (await send(http, CREATE, {"input": rma_input(comment="other")}, "key-a")).json()
    assert reused["data"] is None
    (error,) = reused["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "Idempotency-Key",
        "reason": "IDEMPOTENCY_KEY_REUSED",
    }
    assert await snapshot(engine, organization_id) == before


async def test_a_refusal_is_answered_again_even_when_it_would_now_pass(gql: GraphQLClient) -> None:
    rma = await create(gql)
    accept = action_document("accept")
    refused = (await send(gql.http, accept, {"id": rma["id"]}, "accept-1")).json()
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION"
    await gql.data(action_document("submit"), {"id": rma["id"]})
    # The same key answers the first answer: the request is not run again.
    assert (await send(gql.http, accept, {"id": rma["id"]}, "accept-1")).json() == refused
    accepted = (await send(gql.http, accept, {"id": rma["id"]}, "accept-2")).json()
    assert accepted["data"]["result"]["processingStatus"] == "ACCEPTED"


async def test_keys_are_checked_and_apply_to_mutations_only(
    http: httpx.AsyncClient, engine: AsyncEngine, organization_id: str
) -> None:
    before = await snapshot(engine, organization_id)
    for bad in ("", "x" * 256, "naïve".encode(), "tab\there"):
        body = (await send(http, CREATE, {"input": rma_input()}, bad)).json()
        assert body["errors"][0]["extensions"]["reason"] == "INVALID_IDEMPOTENCY_KEY", bad
    logged = (await send(http, LOG_IN, {"username": "nobody", "password": "x" * 12}, "login-1")).json()
    assert logged["errors"][0]["extensions"]["reason"] == "IDEMPOTENCY_KEY_NOT_SUPPORTED"
    assert await snapshot(engine, organization_id) == before
    # A query ignores the key: reads are safe to repeat.
    read = (await send(http, "{ viewer { organizationId } }", {}, "read-1")).json()
    assert read["data"]["viewer"]["organizationId"] == organization_id


async def test_twenty_at_once_run_once(server: Server, organization_id: str) -> None:
    token = await server.token(organization_id)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, limits=limits, timeout=60) as http:
        rma = (await send(http, CREATE, {"input": rma_input()}, None)).json()["data"]["rmaOrderCreate"]
        variables = {"input": rma_input(externalId=None)}
        barrier = asyncio.Barrier(20)

        async def one(query: str, variables: dict[str, Any], key: str) -> Any:
            await barrier.wait()
            return (await send(http, query, variables, key)).json()

        created = await asyncio.gather(*(one(CREATE, variables, "burst-create") for _ in range(20)))
        assert all(body == created[0] for body in created)
        assert "errors" not in created[0]
        assert await rma_count(server.engine, organization_id) == 2

        barrier = asyncio.Barrier(20)
        submitted = await asyncio.gather(
            *(one(action_document("submit"), {"id": rma["id"]}, "burst-submit") for _ in range(20))
        )
        assert all(body == submitted[0] for body in submitted)
        assert submitted[0]["data"]["result"]["version"] == rma["version"] + 1
        history = submitted[0]["data"]["result"]["history"]
        assert [event["type"] for event in history].count("SUBMITTED") == 1


async def test_an_answer_lost_with_its_process_is_rebuilt(
    http: httpx.AsyncClient, engine: AsyncEngine, organization_id: str
) -> None:
    first = (await send(http, CREATE, {"input": rma_input()}, "lost-1")).json()
    rma_id = first["data"]["rmaOrderCreate"]["id"]
    submitted = (await send(http, action_document("submit"), {"id": rma_id}, "lost-2")).json()
    # Both changes committed, and the processes that ran them ended before keeping the answers.
    async with engine.begin() as conn:
        await conn.execute(
            update(t.idempotency_key)
            .where(t.idempotency_key.c.organization_id == organization_id)
            .values(response=None, owner=f"{socket.gethostname()}:{os.getpid()}:ended")
        )
    # A change made since shows in neither rebuilt answer: each is as of its own change.
    await send(http, action_document("accept"), {"id": rma_id}, None)
    assert (await send(http, CREATE, {"input": rma_input()}, "lost-1")).json() == first
    assert (await send(http, action_document("submit"), {"id": rma_id}, "lost-2")).json() == submitted
    assert await rma_count(engine, organization_id) == 1


async def test_a_key_belongs_to_its_caller(
    app: Any, http: httpx.AsyncClient, engine: AsyncEngine, organization_id: str
) -> None:
    from tests.conftest import issued_token

    variables = {"input": rma_input()}
    mine = (await send(http, CREATE, variables, "shared-key")).json()
    other_token = await issued_token(app, organization_id)
    other = await http.post(
        "/graphql",
        json={"query": CREATE, "variables": variables},
        headers={"Idempotency-Key": "shared-key", "Authorization": f"Bearer {other_token}"},
    )
    assert "idempotent-replayed" not in other.headers
    theirs = other.json()["data"]["rmaOrderCreate"]
    assert theirs["id"] != mine["data"]["rmaOrderCreate"]["id"]
    assert await rma_count(engine, organization_id) == 2
