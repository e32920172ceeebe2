"""Sending notifications: deliveries are derived from the event log (each organization keeps
a cursor over its positions, moved in the transaction that writes the deliveries, each
rendered once in its recipient's language), then leased, sent over SMTP, and their outcome
recorded; a failed send is tried again on a schedule. As with webhooks, a delivery exists
exactly when its event committed, and every process shares the work on PostgreSQL."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from rma_graphql.config import Settings
from rma_graphql.db import event_reads
from rma_graphql.db import notification_repository as store
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.notifications import NotificationStatus, Trigger, check_address
from rma_graphql.domain.webhooks import RetrySchedule
from rma_graphql.service import notification_templates as templates
from rma_graphql.service.notification_mail import Recipient, SlipLink, mail_facts, read_facts, recipients
from rma_graphql.service.notification_templates import MailFacts
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.wakeups import Wakeups

logger = logging.getLogger("rma_graphql.notifications")

ORGANIZATIONS_PER_ROUND = 50
EVENTS_PER_ROUND = 500
CLAIM_LIMIT = 100
POLL_SECONDS = 1.0
# Commits that come within this long of each other are read in one round: a mail may wait a
# quarter of a second, and a busy server derives a few times a second, not once per commit.
BATCH_SECONDS = 0.25
RETRY_SECONDS = 2.0
LEASE_MARGIN = 5
# How long stopping waits for the step under way before cancelling it.
STOP_SECONDS = 10.0
NO_SMTP = "not sent: no SMTP server is set (RMA_SMTP_HOST)"
# Account mails (a password reset link) are deliveries without a rule or an RMA order;
# their body is a credential, kept only until the mail is sent (or never will be).
ACCOUNT_EVENT = "PASSWORD_RESET"
REDACTED_BODY = "[a password reset link: removed once the mail was sent]"


@dataclass
class NotificationSender:
    uow: UnitOfWork
    settings: Settings
    slip_link: SlipLink
    # Attempts made since start (sent or not).
    attempted: int = 0
    _wakeups: Wakeups = field(default_factory=Wakeups)
    _task: "asyncio.Task[None] | None" = None

    def __post_init__(self) -> None:
        self.schedule = RetrySchedule(tuple(self.settings.notification_retry_schedule))
        self.timeout = self.settings.smtp_timeout_seconds

    @property
    def sends(self) -> bool:
        return self.settings.smtp_host is not None

    def start(self) -> None:
        if not self.sends:
            logger.warning("no SMTP server is set (RMA_SMTP_HOST): notifications are recorded, not sent")
        self._task = asyncio.create_task(self._run())

    def wake(self, *_: Any) -> None:
        self._wakeups.wake()

    async def stop(self) -> None:
        """Stop at the next step's end (a step cut short by a cancellation could leave a
        transaction half begun on SQLite); cancel only a step that outlasts STOP_SECONDS."""
        self._wakeups.stop()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=STOP_SECONDS)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        wait = 0.0
        while await self._wakeups.next(wait, BATCH_SECONDS):
            try:
                await self.derive()
                wait = await self.send_due()
            except Exception:  # the database is away: try again soon
                logger.exception("notifications could not be derived or sent; retrying")
                wait = RETRY_SECONDS

    # Deriving

    async def derive(self) -> int:
        """Turn the events committed since each organization's cursor into deliveries; how
        many were made."""
        if self.uow.one_writer:
            async with self.uow.read() as conn:
                if not await store.any_cursor_behind(conn):
                    return 0
        made = 0
        while True:
            full = False
            async with self.uow.transaction() as conn:
                for cursor in await store.cursors_behind(conn, ORGANIZATIONS_PER_ROUND):
                    organization_id, high = cursor["organization_id"], cursor["last_event_position"]
                    events = await event_reads.events_between(
                        conn, organization_id, cursor["position"], high, EVENTS_PER_ROUND
                    )
                    more = len(events) == EVENTS_PER_ROUND
                    rows = await self._deliveries_of(conn, organization_id, events)
                    await store.add_deliveries(conn, rows)
                    await store.move_cursor(conn, organization_id, events[-1]["position"] if more else high)
                    made, full = made + len(rows), full or more
            if not full or self._wakeups.stopping:
                return made

    async def _deliveries_of(
        self, conn: Any, organization_id: str, events: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        rules = [
            (rule, Trigger.from_dict(rule["trigger"]))
            for rule in await store.rules(conn, organization_id, enabled_only=True)
        ]
        fired = [
            (rule, event)
            for event in events
            for rule, trigger in rules
            if trigger.fires(event["type"], event["changes"], event["comment"])
        ]
        if not fired:
            return []
        found = await store.templates(conn, organization_id, list({rule["template_id"] for rule, _ in fired}))
        by_id = {template["id"]: template for template in found}
        pairs = list({(event["rma_order_id"], event["version"]) for _, event in fired})
        revisions = await event_reads.revisions_of(conn, pairs, as_kept=True)
        fired_events = [event for _, event in fired]
        facts = await read_facts(conn, organization_id, fired_events, list(revisions.values()))
        rows: list[dict[str, Any]] = []
        for rule, event in fired:
            revision = revisions.get((event["rma_order_id"], event["version"]))
            template = by_id.get(rule["template_id"])
            if revision is None or template is None:
                continue
            for recipient in recipients(rule["recipient_kinds"], rule["addresses"], revision.row, facts):
                made = mail_facts(event, revision, facts, recipient, self.slip_link)
                rows.append(self._delivery(rule, template, event, recipient, made, facts.default_language))
                # A round renders up to EVENTS_PER_ROUND emails: the requests this process
                # serves have their turn after each one (with a turn every millisecond, a
                # request's steps each waited up to a millisecond: a longer tail).
                await asyncio.sleep(0)
        return rows

    def _delivery(
        self,
        rule: Mapping[str, Any],
        template: Mapping[str, Any],
        event: Mapping[str, Any],
        recipient: Recipient,
        made: MailFacts,
        default_language: str,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = self._new_delivery(
            now,
            organization_id=rule["organization_id"],
            rule_id=rule["id"],
            template_key=template["key"],
            event_id=event["id"],
            event_type=event["type"],
            event_position=event["position"],
            rma_order_id=event["rma_order_id"],
            recipient=recipient.email,
            recipient_kind=recipient.kind,
            language=recipient.language or default_language,
        )
        failed = {"status": NotificationStatus.FAILED.value, "next_attempt_at": None, "completed_at": now}
        try:
            check_address(recipient.email, "recipient")
        except BadUserInputError as error:  # a contact's email as the RMA order was given it
            row.update(failed, last_error=str(error))
            return row
        try:
            mail = templates.render(template["translations"], made.context, row["language"], default_language)
        except Exception as error:  # a template that fails on this RMA order: visible, not lost
            row.update(failed, last_error=f"the template failed: {error}"[:500])
            return row
        row.update(language=mail.language, subject=mail.subject, text_body=mail.text, html_body=mail.html)
        return row

    def _new_delivery(self, now: datetime, **fields: Any) -> dict[str, Any]:
        """A delivery row, due now (recorded NOT_SENT when no SMTP server is set)."""
        sends = self.sends
        return {
            "id": str(uuid.uuid4()),
            "subject": "",
            "text_body": "",
            "html_body": "",
            "status": NotificationStatus.PENDING.value if sends else NotificationStatus.NOT_SENT.value,
            "attempts": 0,
            "next_attempt_at": now if sends else None,
            "leased_until": None,
            "last_error": None if sends else NO_SMTP,
            "created_at": now,
            "completed_at": None,
            **fields,
        }

    def account_mail(
        self, user: Mapping[str, Any], language: str, subject: str, text: str, html: str
    ) -> dict[str, Any]:
        """The delivery of an account mail to ``user`` (see ``ACCOUNT_EVENT``): no rule, no RMA
        order; without an SMTP server its body (a credential) is not kept at all."""
        return self._new_delivery(
            datetime.now(UTC),
            organization_id=user["organization_id"],
            rule_id="",
            template_key="password_reset",
            event_id=str(uuid.uuid4()),
            event_type=ACCOUNT_EVENT,
            event_position=0,
            rma_order_id="",
            recipient=user["email"],
            recipient_kind="USER",
            language=language,
            subject=subject,
            text_body=text if self.sends else REDACTED_BODY,
            html_body=html if self.sends else REDACTED_BODY,
        )

    # Sending

    async def send_due(self) -> float:
        """Send the deliveries that are due; how long until the next one is."""
        if not self.sends:
            return POLL_SECONDS
        while not self._wakeups.stopping:
            now = datetime.now(UTC)
            async with self.uow.read() as conn:
                due = await store.next_due(conn, now)
            if due is None or due > now:
                wait = POLL_SECONDS if due is None else (due - now).total_seconds()
                return min(max(wait, 0.01), POLL_SECONDS)
            lease = now + timedelta(seconds=2 * self.timeout + LEASE_MARGIN)
            async with self.uow.transaction() as conn:
                claimed = await store.claim_due(conn, now, lease, CLAIM_LIMIT)
            if not claimed:
                return POLL_SECONDS
            await self._record(await self._send(claimed))
        return 0.0

    def _message(self, delivery: Mapping[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = delivery["recipient"]
        message["Subject"] = delivery["subject"]
        message["Date"] = format_datetime(datetime.now(UTC))
        # The same on every attempt, so a receiver can tell a retry from a new mail.
        message["Message-ID"] = f"<{delivery['id']}@rma-graphql>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(delivery["text_body"])
        message.add_alternative(delivery["html_body"], subtype="html")
        # After the content: setting it clears the Content-* headers.
        message["Content-Language"] = delivery["language"]
        return message

    async def _send(
        self, deliveries: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Mapping[str, Any], str | None]]:
        """Send over one SMTP session; each delivery with its error (None: accepted)."""
        settings = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=settings.smtp_starttls,
            timeout=self.timeout,
        )
        outcomes: list[tuple[Mapping[str, Any], str | None]] = []
        try:
            await smtp.connect()
            if settings.smtp_username:
                await smtp.login(settings.smtp_username, settings.smtp_password or "")
        except (aiosmtplib.SMTPException, OSError) as error:
            self.attempted += len(deliveries)
            return [(delivery, _said(error)) for delivery in deliveries]
        try:
            for delivery in deliveries:
                self.attempted += 1
                try:
                    message = self._message(delivery)
                except (ValueError, TypeError) as error:  # a header the mail cannot carry
                    outcomes.append((delivery, f"the mail cannot be made: {error}"[:500]))
                    continue
                try:
                    await smtp.send_message(message)
                    outcomes.append((delivery, None))
                except (aiosmtplib.SMTPException, OSError) as error:
                    outcomes.append((delivery, _said(error)))
                    if not smtp.is_connected:
                        outcomes += [(d, "the SMTP connection closed") for d in deliveries[len(outcomes) :]]
                        break
        finally:
            if smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await smtp.quit()
        return outcomes

    async def _record(self, outcomes: Sequence[tuple[Mapping[str, Any], str | None]]) -> None:
        now = datetime.now(UTC)
        async with self.uow.transaction() as conn:
            for delivery, error in outcomes:
                values: dict[str, Any] = {"last_error": error}
                if error is None:
                    values.update(
                        status=NotificationStatus.SENT.value, next_attempt_at=None, completed_at=now
                    )
                else:
                    retry_at = self.schedule.next_attempt(delivery["attempts"] + 1, now)
                    values["next_attempt_at"] = retry_at
                    if retry_at is None:
                        values.update(status=NotificationStatus.FAILED.value, completed_at=now)
                if delivery["event_type"] == ACCOUNT_EVENT and values.get("completed_at") is not None:
                    values.update(text_body=REDACTED_BODY, html_body=REDACTED_BODY)
                await store.finish(conn, delivery["id"], delivery["leased_until"], values)


def _said(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
