"""Custom states in the API: the organization's own labels beside the four statuses, their
names in every language, and setting one on an RMA order."""

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaOrderProcessingStatus
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_order_type import RmaOrderType, rma_payload
from rma_graphql.domain import access, messages
from rma_graphql.domain import statuses as s
from rma_graphql.service import custom_states as service
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.records import RmaCustomStateRecord


@strawberry.type
class LocalizedText:
    language: str
    text: str


@strawberry.input
class LocalizedTextInput:
    language: str = strawberry.field(description="BCP 47: en, fr, fr-CA.")
    text: str


def _texts(texts: list[LocalizedTextInput] | None) -> dict[str, str] | None:
    return None if texts is None else {text.language: text.text for text in texts}


async def _told(info: RmaInfo, texts: dict[str, str], language: str | None) -> str | None:
    """The text in ``language``, else the organization's default language, else English, each
    as given then as its base language; else the first there is."""
    ctx = context_of(info)
    tag = check_language(language, "language") if language is not None else None
    told = await ctx.loaders.history_languages.load(ctx.authenticated.organization_id)
    found = messages.told_in(texts, tag, told.default_language)
    return found[0] if found is not None else next(iter(texts.values()), None)


@strawberry.type(
    description="A label of the organization's own beside the four statuses; it moves none of them."
)
class RmaCustomState:
    id: strawberry.ID
    code: str
    names: list[LocalizedText]
    descriptions: list[LocalizedText]
    position: int
    processing_statuses: list[RmaOrderProcessingStatus] = strawberry.field(
        description="The processing statuses an RMA order may be given the state in."
    )
    record: strawberry.Private[RmaCustomStateRecord]

    @strawberry.field(description="Its name in a language (default: the organization's).")
    async def name(self, info: RmaInfo, language: str | None = None) -> str:
        return await _told(info, self.record.names, language) or self.code

    @strawberry.field(description="Its description in a language (default: the organization's).")
    async def description(self, info: RmaInfo, language: str | None = None) -> str | None:
        return await _told(info, self.record.descriptions, language)

    @classmethod
    def from_row(cls, row: RmaCustomStateRecord) -> "RmaCustomState":
        return cls(
            id=strawberry.ID(row.id),
            code=row.code,
            names=[LocalizedText(language=k, text=v) for k, v in row.names.items()],
            descriptions=[LocalizedText(language=k, text=v) for k, v in row.descriptions.items()],
            position=row.position,
            processing_statuses=[s.ProcessingStatus(v) for v in row.processing_statuses],
            record=row,
        )


@strawberry.input
class RmaCustomStateInput:
    code: str = strawberry.field(description="Capital letters, digits and underscores: WAITING_FOR_SUPPLIER.")
    names: list[LocalizedTextInput]
    processing_statuses: list[RmaOrderProcessingStatus]
    descriptions: list[LocalizedTextInput] = strawberry.field(default_factory=list)
    position: int = 0


@strawberry.input(description="What to change; names and descriptions are replaced whole.")
class RmaCustomStateUpdateInput:
    names: list[LocalizedTextInput] | None = None
    descriptions: list[LocalizedTextInput] | None = None
    position: int | None = None
    processing_statuses: list[RmaOrderProcessingStatus] | None = None


@strawberry.type
class CustomStateQuery:
    @strawberry.field(
        description="The organization's custom states, by position.", **scoped(access.VIEW_RMA_CONFIGURATIONS)
    )
    async def rma_custom_states(self, info: RmaInfo) -> list[RmaCustomState]:
        ctx = context_of(info)
        return [
            RmaCustomState.from_row(row)
            for row in await service.states(ctx.uow, ctx.authenticated.organization_id)
        ]


@strawberry.type
class CustomStateMutation:
    @strawberry.mutation(**scoped(access.CREATE_RMA_CONFIGURATIONS))
    async def rma_custom_state_create(self, info: RmaInfo, input: RmaCustomStateInput) -> RmaCustomState:
        ctx = context_of(info)
        row = await service.create_state(
            ctx.uow,
            ctx.authenticated,
            code=input.code,
            names=_texts(input.names) or {},
            descriptions=_texts(input.descriptions) or {},
            position=input.position,
            processing_statuses=list(input.processing_statuses),
        )
        return RmaCustomState.from_row(row)

    @strawberry.mutation(**scoped(access.EDIT_RMA_CONFIGURATIONS))
    async def rma_custom_state_update(
        self, info: RmaInfo, code: str, input: RmaCustomStateUpdateInput
    ) -> RmaCustomState:
        ctx = context_of(info)
        values = {
            "names": _texts(input.names),
            "descriptions": _texts(input.descriptions),
            "position": input.position,
            "processing_statuses": input.processing_statuses,
        }
        return RmaCustomState.from_row(await service.update_state(ctx.uow, ctx.authenticated, code, values))

    @strawberry.mutation(
        description="Delete a custom state no RMA order is in; the code deleted.",
        **scoped(access.EDIT_RMA_CONFIGURATIONS),
    )
    async def rma_custom_state_delete(self, info: RmaInfo, code: str) -> str:
        ctx = context_of(info)
        await service.delete_state(ctx.uow, ctx.authenticated, code)
        return code

    @strawberry.mutation(
        description="Put an RMA order in a custom state (`code: null`: in none), recorded in its history; "
        "refused with INVALID_TRANSITION in a processing status the state does not name.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_order_set_custom_state(
        self, info: RmaInfo, id: str, code: str | None, expected_version: int | None = None
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(id, "id")
        await service.set_custom_state(
            ctx.uow, ctx.authenticated, rma_id, code, expected_version=expected_version
        )
        return await rma_payload(info, rma_id)
