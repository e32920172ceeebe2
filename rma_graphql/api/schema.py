"""The GraphQL schema: queries, mutations and the extensions, built once per process."""

from enum import Enum
from functools import partial
from typing import Any

import strawberry
import strawberry.tools
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.schema.config import StrawberryConfig

from rma_graphql.api import inputs
from rma_graphql.api.accounts import AccountMutation, AccountQuery
from rma_graphql.api.bulk_actions import BulkActionMutation
from rma_graphql.api.catalog import CatalogMutation, CatalogQuery
from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.custom_states import CustomStateMutation, CustomStateQuery
from rma_graphql.api.enums import RmaCommentVisibility, RmaOrderEventType
from rma_graphql.api.errors import ErrorFormatter, format_errors
from rma_graphql.api.history_messages import HistoryMessageMutation, HistoryMessageQuery
from rma_graphql.api.history_types import RmaOrderEvent, RmaOrderEventConnection, RmaOrderEventEdge
from rma_graphql.api.idempotency import rebuildable
from rma_graphql.api.input_values import plan_input_values
from rma_graphql.api.inputs import (
    LocationInput,
    LocationUpdateInput,
    RmaConfigurationCreateInput,
    RmaConfigurationUpdateInput,
    RmaOrderByExternalIdInput,
    RmaOrderFilterInput,
    RmaOrderInput,
    RmaOrderUpdateInput,
    configuration_values,
    parse_uuid,
    text,
)
from rma_graphql.api.limits import LimitedValidation, max_depth_rule
from rma_graphql.api.notifications import NotificationMutation, NotificationQuery
from rma_graphql.api.observability import OperationObserver
from rma_graphql.api.permissions import scoped
from rma_graphql.api.personal_data import PersonalDataMutation, PersonalDataQuery
from rma_graphql.api.returns import ReturnsQuery, ShipmentMutation
from rma_graphql.api.rma_actions import RmaActionMutation
from rma_graphql.api.rma_order_type import (
    RmaOrderConnection,
    RmaOrderType,
    fetch_lines,
    rma_order_criteria,
    rma_payload,
)
from rma_graphql.api.state_machines import STATE_MACHINES
from rma_graphql.api.statistics import StatisticsQuery
from rma_graphql.api.subscriptions import Subscription, event_filter
from rma_graphql.api.types import (
    Location,
    Organization,
    PageInfo,
    RmaActor,
    RmaConfiguration,
    RmaStateMachine,
    UserRole,
    Viewer,
)
from rma_graphql.api.warehouse import MoneyMutation, MoneyQuery, WarehouseMutation
from rma_graphql.api.webhooks import WebhookMutation, WebhookQuery
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service import configurations as configuration_service
from rma_graphql.service import events as event_service
from rma_graphql.service import queries, rma_order_create, rma_order_update
from rma_graphql.service import rma_orders as rma_service

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
# Fields a document selects once its fragments are expanded.
MAX_FIELDS = 2000
# The estimated cost of one operation (see limits.estimated_cost): about a second of work.
MAX_COST = 200_000


@strawberry.enum(name="RmaOrderSort")
class RmaOrderSort(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    RETURN_NUMBER_DESC = "RETURN_NUMBER_DESC"
    RETURN_NUMBER_ASC = "RETURN_NUMBER_ASC"


@strawberry.type
class Query:
    @strawberry.field(
        description="One RMA order, by exactly one of id or byExternalId.", **scoped(access.VIEW_RMA_ORDERS)
    )
    async def rma_order(
        self,
        info: RmaInfo,
        id: str | None = None,
        by_external_id: RmaOrderByExternalIdInput | None = None,
    ) -> RmaOrderType | None:
        ctx = context_of(info)
        if (id is None) == (by_external_id is None):
            raise BadUserInputError(
                "Give exactly one of id and byExternalId.", "id" if id else "byExternalId"
            )
        if id is not None:
            rma_id = parse_uuid(id, "id")
            row = await queries.rma_order_row(ctx.uow, ctx.authenticated, rma_id)
            if row is None:
                raise NotFoundError(f"RMA order {rma_id} not found.", rma_id)
        else:
            assert by_external_id is not None
            row = await queries.rma_order_row_by_external_id(
                ctx.uow, ctx.authenticated, by_external_id.external_id, by_external_id.tp_app_id
            )
            if row is None:
                raise NotFoundError(
                    f"No RMA order with externalId {by_external_id.external_id!r}.",
                    by_external_id.external_id,
                )
        rma = RmaOrderType.from_row(row)
        await fetch_lines(info, [rma], ("lines",))
        return rma

    @strawberry.field(**scoped(access.VIEW_RMA_ORDERS))
    async def rma_orders(
        self,
        info: RmaInfo,
        filter: RmaOrderFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
        sort: RmaOrderSort = RmaOrderSort.CREATED_AT_DESC,
    ) -> RmaOrderConnection:
        ctx = context_of(info)
        criteria = rma_order_criteria(filter)
        page = await queries.list_rma_orders(
            ctx.uow, ctx.authenticated, criteria, first=first, after=after, sort=sort.value
        )
        nodes = [RmaOrderType.from_row(row) for row in page.rows]
        await fetch_lines(info, nodes, ("nodes", "lines"), ("edges", "node", "lines"))
        return RmaOrderConnection(
            page=page,
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            matches=queries.RmaOrderMatches(ctx.uow, ctx.authenticated, criteria),
        )

    @strawberry.field(**scoped(access.VIEW_RMA_CONFIGURATIONS))
    async def rma_configuration(
        self, info: RmaInfo, id: str | None = None, location_id: str | None = None
    ) -> RmaConfiguration | None:
        ctx = context_of(info)
        if (id is None) == (location_id is None):
            raise BadUserInputError("Give exactly one of id and locationId.", "id" if id else "locationId")
        row = await queries.configuration(
            ctx.uow,
            ctx.authenticated.organization_id,
            id=parse_uuid(id, "id") if id else None,
            location_id=parse_uuid(location_id, "locationId") if location_id else None,
        )
        if row is None:
            missing = id or location_id
            raise NotFoundError(f"RMA configuration {missing} not found.", missing)
        return RmaConfiguration.from_row(row)

    @strawberry.field(**scoped(access.VIEW_RMA_CONFIGURATIONS))
    async def rma_configurations(self, info: RmaInfo) -> list[RmaConfiguration]:
        ctx = context_of(info)
        return [
            RmaConfiguration.from_row(r)
            for r in await queries.configurations(ctx.uow, ctx.authenticated.organization_id)
        ]

    @strawberry.field(**scoped(access.VIEW_RMA_CONFIGURATIONS))
    async def locations(self, info: RmaInfo) -> list[Location]:
        ctx = context_of(info)
        return [
            Location.from_row(r) for r in await queries.locations(ctx.uow, ctx.authenticated.organization_id)
        ]

    @strawberry.field(
        description="The organization's change feed in position order; an event's cursor is its position.",
        **scoped(access.VIEW_RMA_ORDERS),
    )
    async def rma_order_events(
        self,
        info: RmaInfo,
        after: str | None = None,
        first: int = 100,
        rma_order_id: str | None = None,
        types: list[RmaOrderEventType] | None = None,
    ) -> RmaOrderEventConnection:
        ctx = context_of(info)
        f = await event_filter(info, rma_order_id, types)
        position = event_service.parse_position(after, "after") if after is not None else None
        page = await event_service.feed(
            ctx.uow, ctx.authenticated.organization_id, f, after=position, first=first
        )
        nodes = [RmaOrderEvent.from_row(row) for row in page.rows]
        return RmaOrderEventConnection(
            edges=[RmaOrderEventEdge(cursor=node.position, node=node) for node in nodes],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=nodes[0].position if nodes else None,
                end_cursor=nodes[-1].position if nodes else None,
            ),
            counted=partial(event_service.count, ctx.uow, ctx.authenticated.organization_id, f),
        )

    @strawberry.field(description="The four status machines, generated from the tables that enforce them.")
    def rma_state_machines(self) -> list[RmaStateMachine]:
        return STATE_MACHINES

    @strawberry.field(description="Who the request's token stands for: organization, role and scopes.")
    def viewer(self, info: RmaInfo) -> Viewer:
        caller = context_of(info).authenticated
        return Viewer(
            organization_id=strawberry.ID(caller.organization_id),
            actor=RmaActor.from_json(caller.actor),
            role=UserRole(caller.role.value) if caller.role is not None else None,
            scopes=sorted(caller.scopes),
            expires_at=caller.expires_at,
        )

    @strawberry.field(description="The caller's organization.", **scoped(access.VIEW_ORGANIZATIONS))
    async def organization(self, info: RmaInfo) -> Organization:
        ctx = context_of(info)
        row = await queries.organization(ctx.uow, ctx.authenticated.organization_id)
        return Organization.from_row(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(**scoped(access.CREATE_RMA_ORDERS))
    async def rma_order_create(self, info: RmaInfo, input: RmaOrderInput) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = await rma_order_create.create_rma_order(ctx.uow, ctx.authenticated, input.to_command())
        return await rma_payload(info, rma_id)

    @strawberry.mutation(**scoped(access.EDIT_RMA_ORDERS))
    async def rma_order_update(
        self, info: RmaInfo, id: str, input: RmaOrderUpdateInput, expected_version: int | None = None
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(id, "id")
        changes = input.to_changes()
        await rma_order_update.update_rma_order(
            ctx.uow, ctx.authenticated, rma_id, changes, expected_version=expected_version
        )
        return await rma_payload(info, rma_id)

    @strawberry.mutation(
        description="Add a comment: one COMMENT_ADDED event and a new version.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_order_comment_add(
        self,
        info: RmaInfo,
        id: str,
        text: str,
        visibility: RmaCommentVisibility = RmaCommentVisibility.INTERNAL,
        expected_version: int | None = None,
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(id, "id")
        inputs.text(text, "text", rma_service.COMMENT_MAX_LENGTH, required=True)
        await rma_service.add_comment(
            ctx.uow, ctx.authenticated, rma_id, text, visibility, expected_version=expected_version
        )
        return await rma_payload(info, rma_id)

    @strawberry.mutation(**scoped(access.CREATE_RMA_CONFIGURATIONS))
    async def rma_configuration_create(
        self, info: RmaInfo, input: RmaConfigurationCreateInput
    ) -> RmaConfiguration:
        ctx = context_of(info)
        values = configuration_values(input, partial=False)
        configuration_id = await configuration_service.create_configuration(
            ctx.uow, ctx.authenticated, values
        )
        row = await queries.configuration(ctx.uow, ctx.authenticated.organization_id, id=configuration_id)
        assert row is not None
        return RmaConfiguration.from_row(row)

    @strawberry.mutation(**scoped(access.EDIT_RMA_CONFIGURATIONS))
    async def rma_configuration_update(
        self, info: RmaInfo, id: str, input: RmaConfigurationUpdateInput
    ) -> RmaConfiguration:
        ctx = context_of(info)
        configuration_id = parse_uuid(id, "id")
        values = configuration_values(input, partial=True)
        await configuration_service.update_configuration(ctx.uow, ctx.authenticated, configuration_id, values)
        row = await queries.configuration(ctx.uow, ctx.authenticated.organization_id, id=configuration_id)
        assert row is not None
        return RmaConfiguration.from_row(row)

    @strawberry.mutation(**scoped(access.EDIT_RMA_CONFIGURATIONS))
    async def location_create(self, info: RmaInfo, input: LocationInput) -> Location:
        ctx = context_of(info)
        text(input.name, "input.name", 200, required=True)
        contact = input.contact.to_json("input.contact") if input.contact else None
        location_id = await configuration_service.create_location(
            ctx.uow, ctx.authenticated, name=input.name, type=input.type, contact=contact
        )
        rows = await queries.locations(ctx.uow, ctx.authenticated.organization_id)
        return next(Location.from_row(r) for r in rows if r.id == location_id)

    @strawberry.mutation(
        description="Rename a location or set its contact: the address its return slips ship to.",
        **scoped(access.EDIT_RMA_CONFIGURATIONS),
    )
    async def location_update(self, info: RmaInfo, id: str, input: LocationUpdateInput) -> Location:
        ctx = context_of(info)
        location_id = parse_uuid(id, "id")
        await configuration_service.update_location(
            ctx.uow, ctx.authenticated, location_id, input.to_values()
        )
        rows = await queries.locations(ctx.uow, ctx.authenticated.organization_id)
        return next(Location.from_row(r) for r in rows if r.id == location_id)


# The operations that need no token (they ignore any Authorization header).
PUBLIC_FIELDS = frozenset({"signUp", "logIn", "portalOrderLookup", "passwordResetRequest", "passwordReset"})


# Validation rules are built once: a rule class per request would change the cache's key each time.
_LIMIT_RULES: list[Any] = [max_depth_rule(MAX_DEPTH), max_aliases_rule(MAX_ALIASES)]


class RmaSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Refusals are answers, not faults: only unexpected errors are logged (by the error formatter,
        # with a reference the client sees). A document that does not parse never reaches the
        # formatter's hook (the parser cache raises first), so its errors get their codes here.
        errors[:] = format_errors(errors)


def build_schema(*, introspection: bool = True, tracer_provider: Any = None) -> strawberry.Schema:
    extensions: list[Any] = [
        OperationObserver,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=1024),
        lambda: AddValidationRules(_LIMIT_RULES),
        lambda: LimitedValidation(max_fields=MAX_FIELDS, max_cost=MAX_COST),
        ErrorFormatter,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if tracer_provider is not None:
        from strawberry.extensions.tracing import OpenTelemetryExtension

        # No argument values in spans: inputs carry people's names and addresses.
        extensions.append(
            partial(OpenTelemetryExtension, arg_filter=lambda args, info: {}, tracer_provider=tracer_provider)
        )
    built = RmaSchema(
        query=strawberry.tools.merge_types(
            "Query",
            (
                Query,
                CatalogQuery,
                ReturnsQuery,
                MoneyQuery,
                WebhookQuery,
                HistoryMessageQuery,
                CustomStateQuery,
                NotificationQuery,
                StatisticsQuery,
                AccountQuery,
                PersonalDataQuery,
            ),
        ),
        mutation=strawberry.tools.merge_types(
            "Mutation",
            (
                Mutation,
                RmaActionMutation,
                BulkActionMutation,
                PersonalDataMutation,
                ShipmentMutation,
                WarehouseMutation,
                MoneyMutation,
                CatalogMutation,
                AccountMutation,
                WebhookMutation,
                HistoryMessageMutation,
                CustomStateMutation,
                NotificationMutation,
            ),
        ),
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )
    rebuildable(built._schema)
    plan_input_values(built)
    return built


schema = build_schema()
