"""An RMA order's history as GraphQL shows it: its events, their status changes, and its comments."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, cast

import strawberry
from strawberry.scalars import JSON

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import (
    RmaCommentVisibility,
    RmaOrderEventType,
    RmaStatusDimension,
)
from rma_graphql.domain import statuses as s
from rma_graphql.service.events import format_position
from rma_graphql.service.history_messages import check_language
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
    data: JSON | None = strawberry.field(
        description="What the event records beyond statuses: for CORRECTED, `{fields: [{field, before, "
        "after}]}` (the fields staff corrected, camelCase, each as it was and as it is); for ANONYMIZED, "
        "`{by}` (who erased the personal data)."
    )
    record: strawberry.Private[RmaOrderEventRecord]

    @strawberry.field(
        description="The event in a sentence, in `language` (BCP 47), else the organization's default "
        "language, else English (each as given, then its base language: fr-CA, then fr)."
    )
    async def message(self, info: RmaInfo, language: str | None = None) -> str:
        tag = check_language(language, "language") if language is not None else None
        ctx = context_of(info)
        told = await ctx.loaders.history_languages.load(ctx.authenticated.organization_id)
        return told.message(self.record, tag)

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
            data=cast(JSON, row.data),
            record=row,
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
