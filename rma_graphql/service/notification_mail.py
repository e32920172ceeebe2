"""What a notification mail is made of: the organization's facts read once for a batch of
events (its languages and history texts, custom states, shipments, customer accounts,
vouchers), who a rule sends to and in what language, and the variables of one mail."""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rma_graphql.db import notification_repository as store
from rma_graphql.db import organization_repository
from rma_graphql.db.revisions import Revision
from rma_graphql.domain.notifications import RESOLUTION_EVENTS, RecipientKind
from rma_graphql.domain.rma_money import resolution_named
from rma_graphql.service.history_messages import HistoryLanguage
from rma_graphql.service.notification_templates import MailFacts
from rma_graphql.service.records import RmaOrderEventRecord, record

# Makes the absolute link of an RMA order's return slip.
SlipLink = Callable[[str], str]


@dataclass(frozen=True)
class Recipient:
    kind: str
    email: str
    name: str
    language: str | None


@dataclass(frozen=True)
class OrganizationFacts:
    name: str
    history: HistoryLanguage
    custom_states: dict[str, dict[str, str]]
    shipments: dict[str, Mapping[str, Any]]
    user_emails: dict[str, str]
    customer_languages: dict[str, str]
    vouchers: dict[str, Mapping[str, Any]]

    @property
    def default_language(self) -> str:
        return self.history.default_language


def _resolution_id(event: Mapping[str, Any]) -> str | None:
    """The financial resolution a FINANCIAL_RESOLUTION_* event names."""
    if event["type"] not in RESOLUTION_EVENTS:
        return None
    named = resolution_named(event.get("comment"))
    return named[1] if named is not None else None


async def read_facts(
    conn: Any, organization_id: str, events: Sequence[Mapping[str, Any]], revisions: Sequence[Revision]
) -> OrganizationFacts:
    found = await store.organization(conn, organization_id)
    assert found is not None
    texts = {
        (row["event_type"], row["language"]): row["text"]
        for row in await organization_repository.history_messages(conn, organization_id)
    }
    rma_ids = list({event["rma_order_id"] for event in events})
    user_ids = [r.row["customer_id"] for r in revisions if r.row.get("customer_id")]
    emails = await store.user_emails(conn, user_ids) if user_ids else {}
    contacts = [
        (contact or {}).get("email")
        for r in revisions
        for contact in (r.row.get("sender"), r.row.get("owner"))
    ]
    addresses = [a for a in [*emails.values(), *contacts] if a]
    resolution_ids = [i for i in (_resolution_id(event) for event in events) if i]
    return OrganizationFacts(
        name=found["name"],
        history=HistoryLanguage(found["default_language"], texts),
        custom_states=await store.custom_state_names(conn, organization_id),
        shipments=await store.latest_shipments(conn, rma_ids) if rma_ids else {},
        user_emails=emails,
        customer_languages=await store.customer_languages(conn, organization_id, addresses)
        if addresses
        else {},
        vouchers=await store.vouchers(conn, resolution_ids) if resolution_ids else {},
    )


def recipients(
    kinds: Sequence[str], addresses: Sequence[str], row: Mapping[str, Any], facts: OrganizationFacts
) -> list[Recipient]:
    """Who a rule sends to for this RMA order, each address once: a contact's language is its
    own, else its catalog customer's; staff read the organization's default language."""
    found: dict[str, Recipient] = {}

    def add(kind: str, email: str | None, name: str | None, language: str | None) -> None:
        if email and email.lower() not in found:
            language = language or facts.customer_languages.get(email.lower())
            found[email.lower()] = Recipient(kind, email, name or email, language)

    for kind in kinds:
        if kind in (RecipientKind.SENDER, RecipientKind.OWNER):
            contact = row.get("sender" if kind == RecipientKind.SENDER else "owner") or {}
            add(kind, contact.get("email"), contact.get("fullname"), contact.get("language"))
        elif kind == RecipientKind.CUSTOMER and row.get("customer_id"):
            add(kind, facts.user_emails.get(row["customer_id"]), None, None)
    for address in addresses:
        add(RecipientKind.STAFF.value, address, None, facts.default_language)
    return list(found.values())


def mail_facts(
    event: Mapping[str, Any],
    revision: Revision,
    facts: OrganizationFacts,
    recipient: Recipient,
    slip_link: SlipLink,
) -> MailFacts:
    row = revision.row
    resolution_id = _resolution_id(event)
    resolution = next((r for r in revision.financial_resolutions if r["id"] == resolution_id), None)
    state = row.get("custom_state")
    return MailFacts(
        organization=facts.name,
        recipient={"name": recipient.name, "email": recipient.email},
        event=event,
        row=row,
        lines=revision.lines,
        resolution=resolution,
        voucher=facts.vouchers.get(resolution_id) if resolution_id else None,
        shipment=facts.shipments.get(row["id"]),
        slip_link=functools.partial(slip_link, row["id"]),
        custom_state_names=facts.custom_states.get(state) if state else None,
        # The event as a record only for a template that shows its sentence.
        sentence=lambda language: facts.history.message(record(RmaOrderEventRecord, event), language),
    )
