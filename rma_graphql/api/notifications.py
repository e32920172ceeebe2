"""Email notifications in the API: templates (per language, checked when saved), rules (a
trigger, recipients, a template), a preview, and the deliveries with their outcome."""

from datetime import datetime

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import RmaFinancialResolutionType, RmaOrderEventType, RmaStatusDimension
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import PageInfo
from rma_graphql.domain import access
from rma_graphql.domain import notifications as rules
from rma_graphql.domain import statuses as s
from rma_graphql.service import notifications as service
from rma_graphql.service.notification_records import (
    NotificationDeliveryRecord,
    NotificationRuleRecord,
    NotificationTemplateRecord,
)
from rma_graphql.service.notification_sender import NotificationSender

strawberry.enum(rules.RecipientKind, name="NotificationRecipientKind")
NotificationRecipientKind = rules.RecipientKind
strawberry.enum(rules.NotificationStatus, name="NotificationDeliveryStatus")
NotificationDeliveryStatus = rules.NotificationStatus


@strawberry.type
class NotificationTemplateTranslation:
    language: str
    subject: str
    text: str = strawberry.field(description="The plain-text body.")
    html: str = strawberry.field(description="The HTML body.")


@strawberry.input
class NotificationTemplateTranslationInput:
    language: str = strawberry.field(description="BCP 47: en, fr, fr-CA.")
    subject: str
    text: str
    html: str


def _translations(
    given: list[NotificationTemplateTranslationInput] | None,
) -> dict[str, dict[str, str]] | None:
    if given is None:
        return None
    return {t.language: {"subject": t.subject, "text": t.text, "html": t.html} for t in given}


@strawberry.type(description="A mail in every language it is written in (Jinja2, sandboxed).")
class NotificationTemplate:
    id: strawberry.ID
    key: str
    translations: list[NotificationTemplateTranslation]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: NotificationTemplateRecord) -> "NotificationTemplate":
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            translations=[
                NotificationTemplateTranslation(
                    language=k, subject=v["subject"], text=v["text"], html=v["html"]
                )
                for k, v in row.translations.items()
            ],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input
class NotificationTemplateInput:
    key: str = strawberry.field(description="The template's name in the organization: rma_accepted.")
    translations: list[NotificationTemplateTranslationInput]


@strawberry.input(description="What to change; the translations are replaced whole.")
class NotificationTemplateUpdateInput:
    key: str | None = None
    translations: list[NotificationTemplateTranslationInput] | None = None


@strawberry.type(
    description="What fires a rule: an event type (financial resolution events narrowed by resolutionType), "
    "a status reached in a dimension, or a custom state reached."
)
class NotificationTrigger:
    event_type: RmaOrderEventType | None = None
    resolution_type: RmaFinancialResolutionType | None = None
    dimension: RmaStatusDimension | None = None
    status: str | None = strawberry.field(default=None, description="A status of the dimension.")
    custom_state_code: str | None = None


@strawberry.input
class NotificationTriggerInput:
    event_type: RmaOrderEventType | None = None
    resolution_type: RmaFinancialResolutionType | None = None
    dimension: RmaStatusDimension | None = None
    status: str | None = None
    custom_state_code: str | None = None

    def to_trigger(self) -> rules.Trigger:
        return rules.Trigger(
            event_type=self.event_type.value if self.event_type is not None else None,
            resolution_type=self.resolution_type.value if self.resolution_type is not None else None,
            dimension=self.dimension.value if self.dimension is not None else None,
            status=self.status,
            custom_state=self.custom_state_code,
        )


@strawberry.type(
    description="When an RMA order's event fires the trigger, the template goes to the recipients."
)
class NotificationRule:
    id: strawberry.ID
    name: str
    trigger: NotificationTrigger
    recipients: list[NotificationRecipientKind] = strawberry.field(
        description="SENDER and OWNER: the RMA order's contacts; CUSTOMER: the customer account that "
        "owns it; STAFF: the addresses."
    )
    addresses: list[str]
    template_id: strawberry.ID
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: NotificationRuleRecord) -> "NotificationRule":
        trigger = rules.Trigger.from_dict(row.trigger)
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            trigger=NotificationTrigger(
                event_type=s.EventType(trigger.event_type) if trigger.event_type else None,
                resolution_type=s.FinancialResolutionType(trigger.resolution_type)
                if trigger.resolution_type
                else None,
                dimension=s.Dimension(trigger.dimension) if trigger.dimension else None,
                status=trigger.status,
                custom_state_code=trigger.custom_state,
            ),
            recipients=[rules.RecipientKind(kind) for kind in row.recipient_kinds],
            addresses=list(row.addresses),
            template_id=strawberry.ID(row.template_id),
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input
class NotificationRuleInput:
    name: str
    trigger: NotificationTriggerInput
    template_id: str
    recipients: list[NotificationRecipientKind] = strawberry.field(default_factory=list)
    addresses: list[str] = strawberry.field(default_factory=list, description="Staff addresses.")
    enabled: bool = True


@strawberry.input(description="What to change.")
class NotificationRuleUpdateInput:
    name: str | None = None
    trigger: NotificationTriggerInput | None = None
    template_id: str | None = None
    recipients: list[NotificationRecipientKind] | None = None
    addresses: list[str] | None = None
    enabled: bool | None = None


@strawberry.type(
    description="One mail: a rule's template for one event, to one recipient, in their language."
)
class NotificationDelivery:
    id: strawberry.ID
    rule_id: strawberry.ID
    template_key: str
    event_id: strawberry.ID
    event_type: RmaOrderEventType
    position: int = strawberry.field(description="The event's position in the organization's history.")
    rma_order_id: strawberry.ID
    recipient: str
    recipient_kind: NotificationRecipientKind
    language: str
    subject: str
    text_body: str
    html_body: str
    status: NotificationDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed, or why it is not sent."
    )
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: NotificationDeliveryRecord) -> "NotificationDelivery":
        return cls(
            id=strawberry.ID(row.id),
            rule_id=strawberry.ID(row.rule_id),
            template_key=row.template_key,
            event_id=strawberry.ID(row.event_id),
            event_type=s.EventType(row.event_type),
            position=row.event_position,
            rma_order_id=strawberry.ID(row.rma_order_id),
            recipient=row.recipient,
            recipient_kind=rules.RecipientKind(row.recipient_kind),
            language=row.language,
            subject=row.subject,
            text_body=row.text_body,
            html_body=row.html_body,
            status=rules.NotificationStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


@strawberry.type
class NotificationDeliveryEdge:
    cursor: str
    node: NotificationDelivery


@strawberry.type
class NotificationDeliveryConnection:
    edges: list[NotificationDeliveryEdge]
    nodes: list[NotificationDelivery]
    page_info: PageInfo


@strawberry.type
class NotificationPreview:
    language: str
    subject: str
    text: str
    html: str


def _sender(info: RmaInfo) -> NotificationSender:
    sender = context_of(info).notifications
    if sender is None:
        raise RuntimeError("notifications are not set up: the app's lifespan has not started")
    return sender


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="The organization's notification templates, by key.", **scoped(access.VIEW_NOTIFICATIONS)
    )
    async def notification_templates(self, info: RmaInfo) -> list[NotificationTemplate]:
        ctx = context_of(info)
        found = await service.templates_of(ctx.uow, ctx.authenticated.organization_id)
        return [NotificationTemplate.from_row(row) for row in found]

    @strawberry.field(
        description="The organization's notification rules, oldest first.",
        **scoped(access.VIEW_NOTIFICATIONS),
    )
    async def notification_rules(self, info: RmaInfo) -> list[NotificationRule]:
        ctx = context_of(info)
        return [
            NotificationRule.from_row(row)
            for row in await service.rules_of(ctx.uow, ctx.authenticated.organization_id)
        ]

    @strawberry.field(
        description="A template rendered on an RMA order as it is (its latest event, to its sender) in a "
        "language (default: the sender's); nothing is sent.",
        **scoped(access.VIEW_NOTIFICATIONS),
    )
    async def notification_template_preview(
        self, info: RmaInfo, template_id: str, rma_order_id: str, language: str | None = None
    ) -> NotificationPreview:
        ctx = context_of(info)
        mail = await service.preview(
            ctx.uow,
            ctx.authenticated,
            parse_uuid(template_id, "templateId"),
            parse_uuid(rma_order_id, "rmaOrderId"),
            language,
            _sender(info).slip_link,
        )
        return NotificationPreview(
            language=mail.language, subject=mail.subject, text=mail.text, html=mail.html
        )

    @strawberry.field(
        description="Notification deliveries, newest first.", **scoped(access.VIEW_NOTIFICATIONS)
    )
    async def notification_deliveries(
        self,
        info: RmaInfo,
        rma_order_id: str | None = None,
        status: NotificationDeliveryStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> NotificationDeliveryConnection:
        ctx = context_of(info)
        page = await service.deliveries_page(
            ctx.uow,
            ctx.authenticated,
            parse_uuid(rma_order_id, "rmaOrderId") if rma_order_id is not None else None,
            status.value if status is not None else None,
            first=first,
            after=after,
        )
        nodes = [NotificationDelivery.from_row(row) for row in page.deliveries]
        cursors = [page.cursor(row) for row in page.deliveries]
        return NotificationDeliveryConnection(
            edges=[NotificationDeliveryEdge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
        )


def _rule_values(input: NotificationRuleInput | NotificationRuleUpdateInput) -> dict[str, object]:
    return {
        "name": input.name,
        "trigger": input.trigger.to_trigger() if input.trigger is not None else None,
        "template_id": parse_uuid(input.template_id, "input.templateId")
        if input.template_id is not None
        else None,
        "recipient_kinds": input.recipients,
        "addresses": input.addresses,
        "enabled": input.enabled,
    }


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="A template; refused (BAD_USER_INPUT naming the language, part and line) when it "
        "does not compile, uses an unknown variable or fails on an example RMA order.",
        **scoped(access.CREATE_NOTIFICATIONS),
    )
    async def notification_template_create(
        self, info: RmaInfo, input: NotificationTemplateInput
    ) -> NotificationTemplate:
        ctx = context_of(info)
        row = await service.create_template(
            ctx.uow, ctx.authenticated, input.key, _translations(input.translations) or {}
        )
        return NotificationTemplate.from_row(row)

    @strawberry.mutation(**scoped(access.EDIT_NOTIFICATIONS))
    async def notification_template_update(
        self, info: RmaInfo, id: str, input: NotificationTemplateUpdateInput
    ) -> NotificationTemplate:
        ctx = context_of(info)
        row = await service.update_template(
            ctx.uow, ctx.authenticated, parse_uuid(id, "id"), input.key, _translations(input.translations)
        )
        return NotificationTemplate.from_row(row)

    @strawberry.mutation(
        description="Delete a template no rule uses; the id deleted.", **scoped(access.EDIT_NOTIFICATIONS)
    )
    async def notification_template_delete(self, info: RmaInfo, id: str) -> strawberry.ID:
        ctx = context_of(info)
        await service.delete_template(ctx.uow, ctx.authenticated, parse_uuid(id, "id"))
        return strawberry.ID(id)

    @strawberry.mutation(
        description="A rule; it notifies of the events committed from now on.",
        **scoped(access.CREATE_NOTIFICATIONS),
    )
    async def notification_rule_create(self, info: RmaInfo, input: NotificationRuleInput) -> NotificationRule:
        ctx = context_of(info)
        return NotificationRule.from_row(
            await service.create_rule(ctx.uow, ctx.authenticated, _rule_values(input))
        )

    @strawberry.mutation(**scoped(access.EDIT_NOTIFICATIONS))
    async def notification_rule_update(
        self, info: RmaInfo, id: str, input: NotificationRuleUpdateInput
    ) -> NotificationRule:
        ctx = context_of(info)
        row = await service.update_rule(ctx.uow, ctx.authenticated, parse_uuid(id, "id"), _rule_values(input))
        return NotificationRule.from_row(row)

    @strawberry.mutation(
        description="Delete a rule; its deliveries stay. The id deleted.", **scoped(access.EDIT_NOTIFICATIONS)
    )
    async def notification_rule_delete(self, info: RmaInfo, id: str) -> strawberry.ID:
        ctx = context_of(info)
        await service.delete_rule(ctx.uow, ctx.authenticated, parse_uuid(id, "id"))
        return strawberry.ID(id)

    @strawberry.mutation(
        description="Send a delivery again now (a FAILED or NOT_SENT one too), with a full schedule "
        "of attempts.",
        **scoped(access.EDIT_NOTIFICATIONS),
    )
    async def notification_delivery_retry(self, info: RmaInfo, id: str) -> NotificationDelivery:
        ctx = context_of(info)
        row = await service.retry_delivery(ctx.uow, ctx.authenticated, parse_uuid(id, "id"))
        _sender(info).wake()
        return NotificationDelivery.from_row(row)
