"""Webhooks in the API: endpoints (their secret shown once), their deliveries and attempts,
and what a delivery's body says."""

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.unset import UNSET

from rma_graphql.api.compiled_fields import LINE_FIELDS, RMA_ORDER_FIELDS
from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderEventType
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import PageInfo
from rma_graphql.domain import access
from rma_graphql.domain import statuses as s
from rma_graphql.service import webhooks as service
from rma_graphql.service.events import format_position, parse_position
from rma_graphql.service.records import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord
from rma_graphql.service.webhook_sender import WebhookSender


@strawberry.enum(name="WebhookDeliveryStatus")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="Where the organization's RMA events are sent, signed (Standard Webhooks).")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[RmaOrderEventType] = strawberry.field(description="The types sent; empty: every type.")
    enabled: bool
    description: str | None
    disabled_reason: str | None = strawberry.field(
        description="Why the server disabled the endpoint (consecutive failed deliveries)."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when the secret before the last rotation signs beside the new one."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: WebhookEndpointRecord) -> "WebhookEndpoint":
        return cls(
            id=strawberry.ID(row.id),
            url=row.url,
            event_types=[s.EventType(name) for name in row.event_types],
            enabled=row.enabled,
            description=row.description,
            disabled_reason=row.disabled_reason,
            previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="The signing secret (`whsec_…`): shown here only, keep it to verify signatures."
    )


@strawberry.type
class WebhookEndpointEdge:
    cursor: str
    node: WebhookEndpoint


@strawberry.type
class WebhookEndpointConnection:
    edges: list[WebhookEndpointEdge]
    nodes: list[WebhookEndpoint]
    page_info: PageInfo


@strawberry.type
class WebhookAttempt:
    attempted_at: datetime
    http_status: int | None = strawberry.field(description="The receiver's HTTP status; null: no answer.")
    duration_ms: int
    error: str | None = strawberry.field(description="A connection error, a timeout or a refused address.")
    response_body: str | None = strawberry.field(description="The first KiB of the answer.")

    @classmethod
    def from_row(cls, row: WebhookAttemptRecord) -> "WebhookAttempt":
        return cls(
            attempted_at=row.attempted_at,
            http_status=row.http_status,
            duration_ms=row.duration_ms,
            error=row.error,
            response_body=row.response_body,
        )


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: str
    event_id: str = strawberry.field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str = strawberry.field(description="An RmaOrderEventType, or PING.")
    position: str | None = strawberry.field(description="The event's position (null for a ping).")
    rma_order_id: str | None
    version: int | None
    status: WebhookDeliveryStatus
    attempts: list[WebhookAttempt]
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookDeliveryRecord, attempts: list[WebhookAttemptRecord]) -> "WebhookDelivery":
        return cls(
            id=strawberry.ID(row.id),
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            event_type=row.event_type,
            position=format_position(row.event_position) if row.event_position is not None else None,
            rma_order_id=row.rma_order_id,
            version=row.version,
            status=WebhookDeliveryStatus(row.status),
            attempts=[WebhookAttempt.from_row(attempt) for attempt in attempts],
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    nodes: list[WebhookDelivery]
    page_info: PageInfo


@strawberry.input
class WebhookEndpointInput:
    url: str
    event_types: list[RmaOrderEventType] = strawberry.field(
        default_factory=list, description="The types to send; empty: every type."
    )
    enabled: bool = True
    description: str | None = None


@strawberry.input
class WebhookEndpointUpdateInput:
    url: str | None = None
    event_types: list[RmaOrderEventType] | None = None
    enabled: bool | None = None
    description: str | None = strawberry.UNSET

    def to_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "url": self.url,
            "event_types": [t.value for t in self.event_types] if self.event_types is not None else None,
            "enabled": self.enabled,
        }
        if self.description is not UNSET:
            values["description"] = self.description
        return values


def _sender(info: RmaInfo) -> WebhookSender:
    sender = context_of(info).webhooks
    if sender is None:
        raise RuntimeError("webhooks are not set up: the app's lifespan has not started")
    return sender


def _page_info(page: service.WebhookPage, cursors: list[str]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="The organization's webhook endpoints, newest first.", **scoped(access.VIEW_WEBHOOKS)
    )
    async def webhook_endpoints(
        self, info: RmaInfo, first: int = 50, after: str | None = None
    ) -> WebhookEndpointConnection:
        ctx = context_of(info)
        page = await service.endpoints_page(ctx.uow, ctx.authenticated, first=first, after=after)
        nodes = [WebhookEndpoint.from_row(row) for row in page.endpoints]
        cursors = [page.cursor(row) for row in page.endpoints]
        return WebhookEndpointConnection(
            edges=[WebhookEndpointEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=_page_info(page, cursors),
        )

    @strawberry.field(
        description="An endpoint's deliveries, newest first, each with its attempts.",
        **scoped(access.VIEW_WEBHOOKS),
    )
    async def webhook_deliveries(
        self,
        info: RmaInfo,
        endpoint_id: str,
        status: WebhookDeliveryStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        ctx = context_of(info)
        page = await service.deliveries_page(
            ctx.uow,
            ctx.authenticated,
            parse_uuid(endpoint_id, "endpointId"),
            status.value if status is not None else None,
            first=first,
            after=after,
        )
        nodes = [WebhookDelivery.from_row(row, page.attempts[row.id]) for row in page.deliveries]
        cursors = [page.cursor(row) for row in page.deliveries]
        return WebhookDeliveryConnection(
            edges=[WebhookDeliveryEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=_page_info(page, cursors),
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Register an endpoint; its signing secret is in the answer, and only there.",
        **scoped(access.CREATE_WEBHOOKS),
    )
    async def webhook_endpoint_create(
        self, info: RmaInfo, input: WebhookEndpointInput
    ) -> WebhookEndpointWithSecret:
        ctx = context_of(info)
        row, secret = await service.create_endpoint(
            ctx.uow,
            ctx.authenticated,
            _sender(info).box,
            url=input.url,
            event_types=[t.value for t in input.event_types],
            enabled=input.enabled,
            description=input.description,
        )
        return WebhookEndpointWithSecret(endpoint=WebhookEndpoint.from_row(row), secret=secret)

    @strawberry.mutation(**scoped(access.EDIT_WEBHOOKS))
    async def webhook_endpoint_update(
        self, info: RmaInfo, id: str, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpoint:
        ctx = context_of(info)
        row = await service.update_endpoint(
            ctx.uow, ctx.authenticated, parse_uuid(id, "id"), input.to_values()
        )
        _sender(info).wake()
        return WebhookEndpoint.from_row(row)

    @strawberry.mutation(
        description="Delete an endpoint and its deliveries; the id deleted.", **scoped(access.EDIT_WEBHOOKS)
    )
    async def webhook_endpoint_delete(self, info: RmaInfo, id: str) -> strawberry.ID:
        ctx = context_of(info)
        endpoint_id = parse_uuid(id, "id")
        await service.delete_endpoint(ctx.uow, ctx.authenticated, endpoint_id)
        return strawberry.ID(endpoint_id)

    @strawberry.mutation(
        description="A new signing secret; the one before signs beside it for 24 hours.",
        **scoped(access.EDIT_WEBHOOKS),
    )
    async def webhook_endpoint_rotate_secret(self, info: RmaInfo, id: str) -> WebhookEndpointWithSecret:
        ctx = context_of(info)
        row, secret = await service.rotate_secret(
            ctx.uow, ctx.authenticated, _sender(info).box, parse_uuid(id, "id")
        )
        return WebhookEndpointWithSecret(endpoint=WebhookEndpoint.from_row(row), secret=secret)

    @strawberry.mutation(
        description="Send a delivery again now, with a full schedule of attempts.",
        **scoped(access.EDIT_WEBHOOKS),
    )
    async def webhook_delivery_retry(self, info: RmaInfo, id: str) -> WebhookDelivery:
        ctx = context_of(info)
        row, attempts = await service.retry_delivery(ctx.uow, ctx.authenticated, parse_uuid(id, "id"))
        _sender(info).wake()
        return WebhookDelivery.from_row(row, attempts)

    @strawberry.mutation(
        description="Deliver again every event of the endpoint's types from a position on (a `position` "
        "of the history or of a delivery).",
        **scoped(access.EDIT_WEBHOOKS),
    )
    async def webhook_endpoint_replay(self, info: RmaInfo, id: str, from_position: str) -> WebhookEndpoint:
        ctx = context_of(info)
        position = parse_position(from_position, "fromPosition")
        row = await service.replay(ctx.uow, ctx.authenticated, parse_uuid(id, "id"), position)
        _sender(info).wake()
        return WebhookEndpoint.from_row(row)

    @strawberry.mutation(description="Send a test delivery of type PING now.", **scoped(access.EDIT_WEBHOOKS))
    async def webhook_endpoint_ping(self, info: RmaInfo, id: str) -> WebhookDelivery:
        ctx = context_of(info)
        row = await service.ping(ctx.uow, ctx.authenticated, parse_uuid(id, "id"))
        _sender(info).wake()
        return WebhookDelivery.from_row(row, [])


# What a delivery's body says


class WebhookBodies:
    """Makes a delivery's body: the event as ``history`` shows it, and the RMA order as of the
    event's version (its fields that are not lists of other objects, and its lines), each
    value as the API serializes it."""

    def __init__(self, schema: Any) -> None:
        # Imported here: the compiled reads read the schema's limits, and the schema these types.
        from rma_graphql.api.compiled_reads import ReadPlans

        lines = " ".join(LINE_FIELDS)
        self._plan = ReadPlans(schema).rma_order_plan(
            f"{{ {' '.join(RMA_ORDER_FIELDS)} lines {{ {lines} }} }}"
        )

    def render(self, event: Mapping[str, Any], revision: Any) -> dict[str, Any]:
        occurred_at = event["occurred_at"].isoformat()
        rma = None
        if revision is not None:
            rma = self._plan.build(revision.row, None, (revision.lines,))
        return {
            "type": event["type"],
            "timestamp": occurred_at,
            "data": {
                "event": {
                    "id": event["id"],
                    "rmaOrderId": event["rma_order_id"],
                    "type": event["type"],
                    "sequence": event["sequence"],
                    "position": format_position(event["position"]),
                    "version": event["version"],
                    "actor": {
                        "type": event["actor"]["type"],
                        "id": event["actor"].get("id"),
                        "name": event["actor"].get("name"),
                    },
                    "changes": [
                        {"dimension": c["dimension"], "from": c["from"], "to": c["to"]}
                        for c in event["changes"]
                    ],
                    "comment": event["comment"],
                    "occurredAt": occurred_at,
                    "createdAt": occurred_at,
                },
                "rmaOrder": rma,
            },
        }
