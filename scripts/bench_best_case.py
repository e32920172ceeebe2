"""The best case of our stack, for scripts/bench_reads.py: strawberry + uvicorn + raw
asyncpg, no ORM, no authentication, answering the benchmark's two reads the way the real
server's schema shapes them. Each request uses one pooled connection; a page's lines come
in one ``= ANY($1)`` query; nothing else runs.

    BEST_CASE_DSN=postgresql://… BEST_CASE_ORGANIZATION=… \
        uvicorn --app-dir scripts bench_best_case:app --port 8001 --workers 2
"""

import contextlib
import os
from collections.abc import AsyncIterator
from enum import Enum
from typing import Any

import asyncpg
import orjson
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionResult

ORGANIZATION = os.environ.get("BEST_CASE_ORGANIZATION", "")
DSN = os.environ.get("BEST_CASE_DSN", "")

ORDER = "SELECT id, return_reference, processing_status FROM rma_order WHERE organization_id = $1 AND id = $2"
PAGE = (
    "SELECT id, return_reference, processing_status FROM rma_order WHERE organization_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT $2"
)
LINES = (
    "SELECT rma_order_id, sku, quantity, price FROM rma_order_line "
    "WHERE rma_order_id = ANY($1::text[]) ORDER BY rma_order_id, position"
)


@strawberry.enum
class RmaOrderProcessingStatus(Enum):
    NEW = "NEW"
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    PROCESSING = "PROCESSING"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"
    CANCELED = "CANCELED"
    ON_HOLD = "ON_HOLD"
    ANOMALY = "ANOMALY"
    DELETED = "DELETED"


@strawberry.type
class RmaOrderLine:
    sku: str
    quantity: int
    price: float | None


@strawberry.type
class RmaOrder:
    id: str
    return_reference: str
    processing_status: RmaOrderProcessingStatus
    lines: list[RmaOrderLine]


@strawberry.type
class RmaOrderConnection:
    nodes: list[RmaOrder]


def _orders(rows: list[Any], lines: list[Any]) -> list[RmaOrder]:
    by_order: dict[str, list[RmaOrderLine]] = {}
    for line in lines:
        price = line["price"]
        by_order.setdefault(line["rma_order_id"], []).append(
            RmaOrderLine(
                sku=line["sku"], quantity=line["quantity"], price=None if price is None else float(price)
            )
        )
    return [
        RmaOrder(
            id=row["id"],
            return_reference=row["return_reference"],
            processing_status=RmaOrderProcessingStatus(row["processing_status"]),
            lines=by_order.get(row["id"], []),
        )
        for row in rows
    ]


@strawberry.type
class Query:
    @strawberry.field
    async def rma_order(self, info: strawberry.Info, id: str | None = None) -> RmaOrder | None:
        async with info.context["pool"].acquire() as conn:
            rows = await conn.fetch(ORDER, ORGANIZATION, id)
            lines = await conn.fetch(LINES, [row["id"] for row in rows]) if rows else []
        found = _orders(rows, lines)
        return found[0] if found else None

    @strawberry.field
    async def rma_orders(self, info: strawberry.Info, first: int = 50) -> RmaOrderConnection:
        async with info.context["pool"].acquire() as conn:
            rows = await conn.fetch(PAGE, ORGANIZATION, first)
            lines = await conn.fetch(LINES, [row["id"] for row in rows])
        return RmaOrderConnection(nodes=_orders(rows, lines))


# Documents are parsed and validated once each, as a server tuned for speed would.
schema = strawberry.Schema(query=Query, extensions=[ParserCache(maxsize=256), ValidationCache(maxsize=256)])
state: dict[str, Any] = {}


async def graphql(request: Request) -> Response:
    body = orjson.loads(await request.body())
    result: ExecutionResult = await schema.execute(
        body["query"],
        variable_values=body.get("variables"),
        operation_name=body.get("operationName"),
        context_value={"pool": state["pool"]},
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    return Response(orjson.dumps(payload), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    state["pool"] = await asyncpg.create_pool(DSN, min_size=4, max_size=10)
    try:
        yield
    finally:
        await state["pool"].close()


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
