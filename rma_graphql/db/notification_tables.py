"""Email notifications: the organization's templates and rules, a cursor over its event log,
and one delivery per rule, event and recipient."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import ID_LENGTH, id_field, json_field, time_field


class NotificationTemplate(SQLModel, table=True):
    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="uq_notification_template_key"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    key: str = Field(max_length=60)
    # By language (BCP 47): {"subject": …, "text": …, "html": …}.
    translations: dict[str, dict[str, str]] = json_field(nullable=False)
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class NotificationRule(SQLModel, table=True):
    __tablename__ = "notification_rule"
    __table_args__ = (Index("ix_notification_rule_organization", "organization_id", "created_at"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    name: str = Field(max_length=200)
    # What fires it (see ``domain.notifications.Trigger``).
    trigger: dict[str, Any] = json_field(nullable=False)
    # Recipient kinds, and the staff addresses.
    recipient_kinds: list[str] = json_field(nullable=False)
    addresses: list[str] = json_field(nullable=False)
    template_id: str = id_field(foreign="notification_template.id")
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class NotificationCursor(SQLModel, table=True):
    """The organization's last event position turned into notification deliveries."""

    __tablename__ = "notification_cursor"

    organization_id: str = id_field(primary_key=True, foreign="organization.id")
    position: int = Field(sa_column=Column(BigInteger, nullable=False))


class NotificationDelivery(SQLModel, table=True):
    __tablename__ = "notification_delivery"
    __table_args__ = (
        # An event notifies a recipient once per rule, however often the log is read again.
        UniqueConstraint("rule_id", "event_id", "recipient", name="uq_notification_delivery_event"),
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
        Index("ix_notification_delivery_organization", "organization_id", "created_at", "id"),
        Index("ix_notification_delivery_order", "rma_order_id", "created_at", "id"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    # No foreign key: a delivery stays visible after its rule is deleted.
    rule_id: str = Field(max_length=ID_LENGTH)
    template_key: str = Field(max_length=60)
    event_id: str = Field(max_length=ID_LENGTH)
    event_type: str = Field(max_length=40)
    event_position: int = Field(sa_column=Column(BigInteger, nullable=False))
    rma_order_id: str = Field(max_length=ID_LENGTH)
    recipient: str = Field(max_length=320)
    recipient_kind: str = Field(max_length=20)
    language: str = Field(max_length=35)
    # The mail as rendered when the event was read: every attempt sends the same.
    subject: str
    text_body: str
    html_body: str
    # PENDING, SENT, FAILED or NOT_SENT.
    status: str = Field(max_length=20)
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = time_field(nullable=True)
    leased_until: datetime | None = time_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = time_field()
    completed_at: datetime | None = time_field(nullable=True)


notification_template: Table = NotificationTemplate.__table__  # type: ignore[attr-defined]  # set by SQLModel
notification_rule: Table = NotificationRule.__table__  # type: ignore[attr-defined]  # set by SQLModel
notification_cursor: Table = NotificationCursor.__table__  # type: ignore[attr-defined]  # set by SQLModel
notification_delivery: Table = NotificationDelivery.__table__  # type: ignore[attr-defined]  # set by SQLModel
