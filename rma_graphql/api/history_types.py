"""An RMA order's history as GraphQL shows it: its events, their status changes, and its comments."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from rma_graphql.api.enums import (
    RmaCommentVisibility,
    RmaOrderEventType,
    RmaStatusDimension,
)
from rma_graphql.domain import statuses as s
from rma_graphql.service.events import format_position
from rma_graphql.service.records import RmaOrderCommentRecord, RmaOrderEventRecord

if TYPE_CHECKING:
    pass
from rma_graphql.api.types import PageInfo, RmaActor, _actor


@strawberry.type
class RmaStatusChange:
    dimension: RmaStatusDimension
    from_: str | None = strawberry.field(name="from")
    to: str


@strawberry.type
class RmaComment:
    id: strawberry.ID
    text: str
    visibility: RmaCommentVisibility
    author: "RmaActor"
    created_at: datetime

    @classmethod
    def from_row(cls, row: RmaOrderCommentRecord) -> "RmaComment":
        return cls(
            id=strawberry.ID(row.id),
            text=row.text,
            visibility=s.CommentVisibility(row.visibility),
            author=_actor(row.author),
            created_at=row.created_at,
        )


@strawberry.type
class RmaOrderEvent:
    id: strawberry.ID
    rma_order_id: str
    sequence: int
    position: str
    type: RmaOrderEventType
    changes: list[RmaStatusChange]
    actor: RmaActor
    comment: str | None
    occurred_at: datetime
    version: int

    @classmethod
    def from_row(cls, row: RmaOrderEventRecord) -> "RmaOrderEvent":
        return cls(
            id=strawberry.ID(row.id),
            rma_order_id=row.rma_order_id,
            sequence=row.sequence,
            position=format_position(row.position),
            type=s.EventType(row.type),
            changes=[
                RmaStatusChange(dimension=s.Dimension(c["dimension"]), from_=c["from"], to=c["to"])
                for c in row.changes
            ],
            actor=_actor(row.actor),
            comment=row.comment,
            occurred_at=row.occurred_at,
            version=row.version,
        )


@strawberry.type
class RmaOrderEventEdge:
    cursor: str
    node: RmaOrderEvent


@strawberry.type
class RmaOrderEventConnection:
    edges: list[RmaOrderEventEdge]
    nodes: list[RmaOrderEvent]
    page_info: PageInfo
    # Counted only when a client selects totalCount.
    counted: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.counted()
