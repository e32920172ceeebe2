"""Languages, and the history told in them: an organization's default language and its own
texts of history messages (see ``domain.messages``)."""

from dataclasses import dataclass, field

from babel import Locale, UnknownLocaleError

from rma_graphql.db import organization_repository as store
from rma_graphql.db import rma_reads
from rma_graphql.domain import messages
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import EventType
from rma_graphql.service.records import OrganizationRecord, RmaOrderEventRecord, record
from rma_graphql.service.unit_of_work import UnitOfWork


def check_language(tag: str, field: str) -> str:
    """A BCP 47 tag Babel knows, in its canonical form (``fr-ca`` → ``fr-CA``)."""
    if not tag or len(tag) > messages.MAX_LANGUAGE_LENGTH:
        raise BadUserInputError(f"Not a language tag: {tag!r}.", field)
    try:
        locale = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        raise BadUserInputError(
            f"Not a language tag this server knows: {tag!r} (BCP 47, such as en, fr or fr-CA).", field
        ) from None
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


@dataclass(frozen=True)
class HistoryLanguage:
    """What an organization's history is told with: its default language and its own texts."""

    default_language: str
    texts: dict[tuple[str, str], str] = field(default_factory=dict)

    def template(self, event_type: EventType, language: str | None) -> tuple[str, str]:
        """The template of an event type and the language it is in: the organization's own
        text or the shipped one, in the first candidate language that has either."""
        own = {tag: text for (kind, tag), text in self.texts.items() if kind == event_type.value}
        shipped = {tag: templates[event_type] for tag, templates in messages.TEMPLATES.items()}
        found = messages.told_in({**shipped, **own}, language, self.default_language)
        assert found is not None, "English always ships"
        return found

    def is_own(self, event_type: EventType, language: str) -> bool:
        return (event_type.value, language) in self.texts

    def message(self, event: RmaOrderEventRecord, language: str | None) -> str:
        template, told_in = self.template(EventType(event.type), language)
        return messages.render(template, told_in, event.actor, event.changes, event.comment)


async def history_language(uow: UnitOfWork, organization_id: str) -> HistoryLanguage:
    async with uow.read() as conn:
        organization = record(OrganizationRecord, await rma_reads.organization(conn, organization_id))
        rows = await store.history_messages(conn, organization_id)
    texts = {(row["event_type"], row["language"]): row["text"] for row in rows}
    return HistoryLanguage(organization.default_language, texts)


async def set_message(
    uow: UnitOfWork, caller: Caller, event_type: EventType, language: str, text: str | None
) -> str:
    """Replace the organization's text of an event type's message in a language (None: back
    to the shipped text); the language, canonical."""
    tag = check_language(language, "language")
    if text is not None:
        messages.check_template(text, "text")
    async with uow.transaction() as conn:
        await store.set_history_message(conn, caller.organization_id, event_type.value, tag, text)
    return tag
