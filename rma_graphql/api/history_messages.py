"""The organization's own texts of history messages, per event type and language."""

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderEventType
from rma_graphql.api.permissions import scoped
from rma_graphql.domain import access
from rma_graphql.domain import statuses as s
from rma_graphql.service import history_messages as service


@strawberry.type(description="The text an event type's history message is told with, in one language.")
class HistoryMessage:
    event_type: RmaOrderEventType
    language: str = strawberry.field(description="The language of the text (its own, or the shipped one).")
    text: str = strawberry.field(
        description="The template: {actor}, {changes}, {dimension}, {from}, {to} and {comment} are filled "
        "in from the event."
    )
    own: bool = strawberry.field(
        description="Whether it is the organization's own text (else the shipped one)."
    )


async def _messages(info: RmaInfo, language: str | None) -> list[HistoryMessage]:
    ctx = context_of(info)
    tag = service.check_language(language, "language") if language is not None else None
    told = await service.history_language(ctx.uow, ctx.authenticated.organization_id)
    found = []
    for event_type in s.EventType:
        text, told_in = told.template(event_type, tag)
        own = told.is_own(event_type, told_in)
        found.append(HistoryMessage(event_type=event_type, language=told_in, text=text, own=own))
    return found


@strawberry.type
class HistoryMessageQuery:
    @strawberry.field(
        description="The text of every event type's history message in a language (default: the "
        "organization's).",
        **scoped(access.VIEW_ORGANIZATIONS),
    )
    async def history_messages(self, info: RmaInfo, language: str | None = None) -> list[HistoryMessage]:
        return await _messages(info, language)


@strawberry.type
class HistoryMessageMutation:
    @strawberry.mutation(
        description="The organization's own text of an event type's history message in a language; "
        "`text: null` goes back to the shipped text.",
        **scoped(access.EDIT_ORGANIZATIONS),
    )
    async def history_message_set(
        self, info: RmaInfo, event_type: RmaOrderEventType, language: str, text: str | None
    ) -> HistoryMessage:
        ctx = context_of(info)
        tag = await service.set_message(ctx.uow, ctx.authenticated, s.EventType(event_type), language, text)
        return next(m for m in await _messages(info, tag) if m.event_type == event_type)
