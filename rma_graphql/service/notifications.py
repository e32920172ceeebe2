"""Email notifications as the API manages them: templates (checked when saved), rules, a
preview of a template on an RMA order, the deliveries and sending one again. Sending is
``notification_sender``'s."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import event_reads
from rma_graphql.db import notification_repository as store
from rma_graphql.db.engine import Connection
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain import notifications as rules
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.notifications import RecipientKind, Trigger
from rma_graphql.service import notification_templates as templates
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.notification_defaults import DEFAULT_RULES, DEFAULT_TEMPLATES
from rma_graphql.service.notification_mail import Recipient, SlipLink, mail_facts, read_facts
from rma_graphql.service.notification_records import (
    NotificationDeliveryRecord,
    NotificationRuleRecord,
    NotificationTemplateRecord,
)
from rma_graphql.service.queries import check_first
from rma_graphql.service.records import record, records
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.webhooks import decode_cursor, encode_cursor


def _now() -> datetime:
    return datetime.now(UTC)


def _missing(kind: str, row_id: str) -> NotFoundError:
    return NotFoundError(f"Notification {kind} {row_id} not found.", row_id)


async def install_defaults(conn: Connection, organization_id: str) -> None:
    """The default templates (English and French) and a rule for each, to the sender."""
    now, ids = _now(), {}
    for key, translations in DEFAULT_TEMPLATES.items():
        ids[key] = str(uuid.uuid4())
        await store.add_template(
            conn,
            {
                "id": ids[key],
                "organization_id": organization_id,
                "key": key,
                "translations": translations,
                "created_at": now,
                "updated_at": now,
            },
        )
    for name, key, trigger in DEFAULT_RULES:
        await store.add_rule(
            conn, _rule_row(organization_id, name, trigger, [RecipientKind.SENDER], [], ids[key])
        )
    await store.start_cursor(conn, organization_id)


def _rule_row(
    organization_id: str,
    name: str,
    trigger: Trigger,
    kinds: Sequence[str],
    addresses: Sequence[str],
    template_id: str,
    enabled: bool = True,
) -> dict[str, Any]:
    now = _now()
    return {
        "id": str(uuid.uuid4()),
        "organization_id": organization_id,
        "name": name,
        "trigger": trigger.as_dict(),
        "recipient_kinds": list(kinds),
        "addresses": list(addresses),
        "template_id": template_id,
        "enabled": enabled,
        "created_at": now,
        "updated_at": now,
    }


# Templates


async def templates_of(uow: UnitOfWork, organization_id: str) -> list[NotificationTemplateRecord]:
    async with uow.read() as conn:
        return records(NotificationTemplateRecord, await store.templates(conn, organization_id))


async def create_template(
    uow: UnitOfWork, caller: Caller, key: str, translations: Mapping[str, Mapping[str, str]]
) -> NotificationTemplateRecord:
    now = _now()
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": caller.organization_id,
        "key": rules.check_key(key),
        "translations": templates.check_translations(translations, "input.translations"),
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with uow.transaction() as conn:
            await store.add_template(conn, values)
            found = await store.template(conn, caller.organization_id, values["id"])
    except DuplicateRowError:
        raise BadUserInputError(f"There is a template {values['key']} already.", "input.key") from None
    assert found is not None
    return record(NotificationTemplateRecord, found)


async def update_template(
    uow: UnitOfWork,
    caller: Caller,
    template_id: str,
    key: str | None,
    translations: Mapping[str, Mapping[str, str]] | None,
) -> NotificationTemplateRecord:
    """Change the key or the translations (replaced whole)."""
    values: dict[str, Any] = {"updated_at": _now()}
    if key is not None:
        values["key"] = rules.check_key(key)
    if translations is not None:
        values["translations"] = templates.check_translations(translations, "input.translations")
    try:
        async with uow.transaction() as conn:
            if not await store.update_template(conn, caller.organization_id, template_id, values):
                raise _missing("template", template_id)
            found = await store.template(conn, caller.organization_id, template_id)
    except DuplicateRowError:
        raise BadUserInputError(f"There is a template {key} already.", "input.key") from None
    assert found is not None
    return record(NotificationTemplateRecord, found)


async def delete_template(uow: UnitOfWork, caller: Caller, template_id: str) -> None:
    """Delete a template no rule uses."""
    async with uow.transaction() as conn:
        using = await store.rules_using(conn, caller.organization_id, template_id)
        if using:
            raise BadUserInputError(
                f"The template is used by the rules {', '.join(sorted(using))}: change or delete them first.",
                "id",
            )
        if not await store.delete_template(conn, caller.organization_id, template_id):
            raise _missing("template", template_id)


# Rules


async def rules_of(uow: UnitOfWork, organization_id: str) -> list[NotificationRuleRecord]:
    async with uow.read() as conn:
        return records(NotificationRuleRecord, await store.rules(conn, organization_id))


async def _checked_rule(conn: Connection, caller: Caller, values: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's values checked against each other and the organization's templates and
    custom states."""
    checked: dict[str, Any] = {}
    if values.get("name") is not None:
        name = values["name"].strip()
        if not 1 <= len(name) <= rules.MAX_RULE_NAME_LENGTH:
            raise BadUserInputError(
                f"A rule name is 1 to {rules.MAX_RULE_NAME_LENGTH} characters.", "input.name"
            )
        checked["name"] = name
    trigger = values.get("trigger")
    if trigger is not None:
        rules.check_trigger(trigger)
        names = await store.custom_state_names(conn, caller.organization_id)
        if trigger.custom_state is not None and trigger.custom_state not in names:
            raise BadUserInputError(
                f"No custom state {trigger.custom_state}.", "input.trigger.customStateCode"
            )
        checked["trigger"] = trigger.as_dict()
    if values.get("recipient_kinds") is not None or values.get("addresses") is not None:
        kinds, addresses = rules.check_recipients(
            values.get("recipient_kinds") or [], values.get("addresses") or []
        )
        checked.update(recipient_kinds=kinds, addresses=addresses)
    if values.get("template_id") is not None:
        if await store.template(conn, caller.organization_id, values["template_id"]) is None:
            raise BadUserInputError(f"No notification template {values['template_id']}.", "input.templateId")
        checked["template_id"] = values["template_id"]
    if values.get("enabled") is not None:
        checked["enabled"] = values["enabled"]
    return checked


async def create_rule(uow: UnitOfWork, caller: Caller, values: Mapping[str, Any]) -> NotificationRuleRecord:
    async with uow.transaction() as conn:
        checked = await _checked_rule(conn, caller, values)
        row = _rule_row(
            caller.organization_id,
            checked["name"],
            values["trigger"],
            checked["recipient_kinds"],
            checked["addresses"],
            checked["template_id"],
            checked.get("enabled", True),
        )
        await store.add_rule(conn, row)
        await store.start_cursor(conn, caller.organization_id)
        found = await store.rule(conn, caller.organization_id, row["id"])
    assert found is not None
    return record(NotificationRuleRecord, found)


async def update_rule(
    uow: UnitOfWork, caller: Caller, rule_id: str, values: Mapping[str, Any]
) -> NotificationRuleRecord:
    async with uow.transaction() as conn:
        current = await store.rule(conn, caller.organization_id, rule_id)
        if current is None:
            raise _missing("rule", rule_id)
        recipients = {"recipient_kinds": current["recipient_kinds"], "addresses": current["addresses"]}
        if values.get("recipient_kinds") is not None or values.get("addresses") is not None:
            recipients = {k: v if values.get(k) is None else values[k] for k, v in recipients.items()}
        checked = await _checked_rule(conn, caller, {**values, **recipients})
        await store.update_rule(conn, caller.organization_id, rule_id, {**checked, "updated_at": _now()})
        found = await store.rule(conn, caller.organization_id, rule_id)
    assert found is not None
    return record(NotificationRuleRecord, found)


async def delete_rule(uow: UnitOfWork, caller: Caller, rule_id: str) -> None:
    async with uow.transaction() as conn:
        if not await store.delete_rule(conn, caller.organization_id, rule_id):
            raise _missing("rule", rule_id)


# A preview, the deliveries, and sending one again


async def preview(
    uow: UnitOfWork, caller: Caller, template_id: str, rma_order_id: str, language: str | None, link: SlipLink
) -> templates.Mail:
    """The template rendered on the RMA order as it is, for its latest event, to its sender,
    in ``language`` (default: the sender's); nothing is sent."""
    tag = check_language(language, "language") if language is not None else None
    organization_id = caller.organization_id
    async with uow.read() as conn:
        template = await store.template(conn, organization_id, template_id)
        if template is None:
            raise _missing("template", template_id)
        version = await store.rma_version(conn, organization_id, rma_order_id)
        event = await store.last_event(conn, rma_order_id) if version is not None else None
        if version is None or event is None:
            raise NotFoundError(f"RMA order {rma_order_id} not found.", rma_order_id)
        key = (rma_order_id, version)
        revision = (await event_reads.revisions_of(conn, [key], as_kept=True))[key]
        facts = await read_facts(conn, organization_id, [event], [revision])
    sender = revision.row.get("sender") or {}
    recipient = Recipient(
        RecipientKind.SENDER.value,
        sender.get("email") or "",
        sender.get("fullname") or "",
        sender.get("language"),
    )
    made = mail_facts(event, revision, facts, recipient, link)
    try:
        return templates.render(
            template["translations"],
            made.context,
            tag or recipient.language or facts.default_language,
            facts.default_language,
        )
    except Exception as error:
        raise BadUserInputError(f"The template fails on this RMA order: {error}", "templateId") from None


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[NotificationDeliveryRecord]
    has_next_page: bool
    has_previous_page: bool

    def cursor(self, row: NotificationDeliveryRecord) -> str:
        return encode_cursor(row.created_at, row.id)


async def deliveries_page(
    uow: UnitOfWork,
    caller: Caller,
    rma_order_id: str | None,
    status: str | None,
    *,
    first: int,
    after: str | None,
) -> DeliveryPage:
    check_first(first)
    position = decode_cursor(after)
    async with uow.read() as conn:
        rows = await store.deliveries(
            conn, caller.organization_id, rma_order_id, status, first=first, after=position
        )
    return DeliveryPage(
        records(NotificationDeliveryRecord, rows[:first]), len(rows) > first, after is not None
    )


async def retry_delivery(uow: UnitOfWork, caller: Caller, delivery_id: str) -> NotificationDeliveryRecord:
    """Send a delivery again now, with a full schedule of attempts before it."""
    async with uow.transaction() as conn:
        current = await store.delivery(conn, caller.organization_id, delivery_id)
        if current is None:
            raise _missing("delivery", delivery_id)
        if not current["subject"]:
            raise BadUserInputError(f"The delivery has no mail to send: {current['last_error']}", "id")
        await store.requeue(conn, caller.organization_id, delivery_id, _now())
        found = await store.delivery(conn, caller.organization_id, delivery_id)
    assert found is not None
    return record(NotificationDeliveryRecord, found)
