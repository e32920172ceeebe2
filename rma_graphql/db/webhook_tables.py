"""Webhooks: the endpoints an organization registers, one delivery per event and endpoint,
and every attempt to deliver it."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from rma_graphql.db.columns import ID_LENGTH, id_field, json_field, time_field


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index("ix_webhook_endpoint_organization", "organization_id", "created_at", "id"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    url: str = Field(max_length=2000)
    # Event type names; empty: every type.
    event_types: list[str] = json_field(nullable=False)
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # Why it was disabled, when the server disabled it.
    disabled_reason: str | None = Field(default=None, max_length=500)
    # The signing secret, encrypted; the one before a rotation signs beside it until it expires.
    secret: str = Field(max_length=500)
    previous_secret: str | None = Field(default=None, max_length=500)
    previous_secret_expires_at: datetime | None = time_field(nullable=True)
    # The organization's last event position turned into deliveries for this endpoint.
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))
    consecutive_failures: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # An event is delivered once per endpoint, however often the log is read again.
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at", "id"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    endpoint_id: str = id_field(foreign="webhook_endpoint.id")
    # The event's id (a ping's own id): the webhook-id header, the same on every attempt.
    event_id: str = Field(max_length=ID_LENGTH)
    event_type: str = Field(max_length=40)
    event_position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    rma_order_id: str | None = Field(default=None, max_length=ID_LENGTH)
    version: int | None = None
    # PENDING, SUCCEEDED or FAILED.
    status: str = Field(max_length=20)
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = time_field(nullable=True)
    # While a sender works on it, no other takes it.
    leased_until: datetime | None = time_field(nullable=True)
    # A ping's body (an event's is made from the event log when it is sent).
    body: dict[str, Any] | None = json_field(nullable=True)
    created_at: datetime = time_field()
    completed_at: datetime | None = time_field(nullable=True)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery", "delivery_id", "attempted_at"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    delivery_id: str = id_field(foreign="webhook_delivery.id")
    attempted_at: datetime = time_field()
    duration_ms: int
    http_status: int | None = None
    # A connection error or a timeout, said in words.
    error: str | None = Field(default=None, max_length=500)
    # The first KiB of the answer.
    response_body: str | None = Field(default=None, max_length=1024)


webhook_endpoint: Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]  # set by SQLModel
webhook_delivery: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]  # set by SQLModel
webhook_attempt: Table = WebhookAttempt.__table__  # type: ignore[attr-defined]  # set by SQLModel
