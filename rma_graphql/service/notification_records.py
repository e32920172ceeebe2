"""The read records of email notifications: the tables' columns, name for name."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationTemplateRecord:
    id: str
    organization_id: str
    key: str
    translations: dict[str, dict[str, str]]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRuleRecord:
    id: str
    organization_id: str
    name: str
    trigger: dict[str, Any]
    recipient_kinds: list[str]
    addresses: list[str]
    template_id: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationDeliveryRecord:
    id: str
    organization_id: str
    rule_id: str
    template_key: str
    event_id: str
    event_type: str
    event_position: int
    rma_order_id: str
    recipient: str
    recipient_kind: str
    language: str
    subject: str
    text_body: str
    html_body: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    leased_until: datetime | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
