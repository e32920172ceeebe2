"""Webhook endpoints and their deliveries, as the API manages them: registering an endpoint
(its signing secret shown once), changing, rotating, deleting it, and looking at, retrying
and replaying what was delivered. Sending is ``webhook_sender``'s."""

import base64
import binascii
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rma_graphql.config import Settings
from rma_graphql.db import event_reads
from rma_graphql.db import webhook_repository as store
from rma_graphql.domain import webhooks as rules
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service.accounts import shared_signing_key
from rma_graphql.service.queries import check_first
from rma_graphql.service.records import (
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookEndpointRecord,
    record,
    records,
)
from rma_graphql.service.unit_of_work import UnitOfWork

KEY_NAME = "webhook_secret_key"


class SecretBox:
    """Signing secrets at rest: Fernet (AES-CBC and HMAC-SHA256) under a key derived (HKDF)
    from ``RMA_WEBHOOK_SECRET_KEY``, or from one generated once and kept in the database."""

    def __init__(self, key_text: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"rma_graphql webhook secrets"
        ).derive(key_text.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise RuntimeError(
                "a webhook signing secret does not open with this key: RMA_WEBHOOK_SECRET_KEY changed"
            ) from None


async def secret_box(uow: UnitOfWork, settings: Settings) -> SecretBox:
    return SecretBox(settings.webhook_secret_key or await shared_signing_key(uow, KEY_NAME))


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(endpoint_id: str) -> NotFoundError:
    return NotFoundError(f"Webhook endpoint {endpoint_id} not found.", endpoint_id)


def _description(description: str | None) -> str | None:
    if description is not None and len(description) > rules.MAX_DESCRIPTION_LENGTH:
        raise BadUserInputError(
            f"A description is at most {rules.MAX_DESCRIPTION_LENGTH} characters.", "input.description"
        )
    return description


async def create_endpoint(
    uow: UnitOfWork,
    caller: Caller,
    box: SecretBox,
    *,
    url: str,
    event_types: Sequence[str],
    enabled: bool,
    description: str | None,
) -> tuple[WebhookEndpointRecord, str]:
    """A new endpoint, hearing the events committed from now on, and its secret (shown once)."""
    secret = new_secret()
    now = _now()
    endpoint_id = str(uuid.uuid4())
    values = {
        "id": endpoint_id,
        "organization_id": caller.organization_id,
        "url": rules.check_url(url),
        "event_types": list(dict.fromkeys(event_types)),
        "enabled": enabled,
        "description": _description(description),
        "secret": box.seal(secret),
        "consecutive_failures": 0,
        "created_at": now,
        "updated_at": now,
    }
    async with uow.transaction() as conn:
        values["cursor"] = await event_reads.last_position(conn, caller.organization_id)
        await store.add_endpoint(conn, values)
        found = await store.endpoint(conn, caller.organization_id, endpoint_id)
    assert found is not None
    return record(WebhookEndpointRecord, found), secret


async def update_endpoint(
    uow: UnitOfWork, caller: Caller, endpoint_id: str, values: Mapping[str, Any]
) -> WebhookEndpointRecord:
    """Change what is given; enabling an endpoint clears why it was disabled (it then
    catches up on the events committed meanwhile)."""
    changes: dict[str, Any] = {"updated_at": _now()}
    if values.get("url") is not None:
        changes["url"] = rules.check_url(values["url"])
    if values.get("event_types") is not None:
        changes["event_types"] = list(dict.fromkeys(values["event_types"]))
    if "description" in values:
        changes["description"] = _description(values["description"])
    if values.get("enabled") is not None:
        changes["enabled"] = values["enabled"]
        if values["enabled"]:
            changes.update(disabled_reason=None, consecutive_failures=0)
    async with uow.transaction() as conn:
        if not await store.update_endpoint(conn, caller.organization_id, endpoint_id, changes):
            raise _not_found(endpoint_id)
        found = await store.endpoint(conn, caller.organization_id, endpoint_id)
    assert found is not None
    return record(WebhookEndpointRecord, found)


async def delete_endpoint(uow: UnitOfWork, caller: Caller, endpoint_id: str) -> None:
    """The endpoint and its deliveries are gone; nothing more is sent to it."""
    async with uow.transaction() as conn:
        if not await store.delete_endpoint(conn, caller.organization_id, endpoint_id):
            raise _not_found(endpoint_id)


async def rotate_secret(
    uow: UnitOfWork, caller: Caller, box: SecretBox, endpoint_id: str
) -> tuple[WebhookEndpointRecord, str]:
    """A new secret; the one it replaces signs beside it for 24 hours."""
    secret = new_secret()
    now = _now()
    async with uow.transaction() as conn:
        found = await store.endpoint(conn, caller.organization_id, endpoint_id, lock=True)
        if found is None:
            raise _not_found(endpoint_id)
        await store.update_endpoint(
            conn,
            caller.organization_id,
            endpoint_id,
            {
                "secret": box.seal(secret),
                "previous_secret": found["secret"],
                "previous_secret_expires_at": now + rules.ROTATION_OVERLAP,
                "updated_at": now,
            },
        )
        found = await store.endpoint(conn, caller.organization_id, endpoint_id)
    assert found is not None
    return record(WebhookEndpointRecord, found), secret


# Pages


@dataclass(frozen=True)
class WebhookPage:
    endpoints: list[WebhookEndpointRecord]
    deliveries: list[WebhookDeliveryRecord]
    attempts: dict[str, list[WebhookAttemptRecord]]
    has_next_page: bool
    has_previous_page: bool

    def cursor(self, row: WebhookEndpointRecord | WebhookDeliveryRecord) -> str:
        return encode_cursor(row.created_at, row.id)


def encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at.isoformat(), row_id])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        created_at, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created_at), str(row_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise BadUserInputError("The cursor is not one this API issued.", "after") from None


async def endpoints_page(uow: UnitOfWork, caller: Caller, *, first: int, after: str | None) -> WebhookPage:
    check_first(first)
    position = decode_cursor(after)
    async with uow.read() as conn:
        rows = await store.endpoints(conn, caller.organization_id, first=first, after=position)
    return WebhookPage(
        records(WebhookEndpointRecord, rows[:first]), [], {}, len(rows) > first, after is not None
    )


async def deliveries_page(
    uow: UnitOfWork, caller: Caller, endpoint_id: str, status: str | None, *, first: int, after: str | None
) -> WebhookPage:
    check_first(first)
    position = decode_cursor(after)
    async with uow.read() as conn:
        if await store.endpoint(conn, caller.organization_id, endpoint_id) is None:
            raise _not_found(endpoint_id)
        rows = await store.deliveries(
            conn, caller.organization_id, endpoint_id, status, first=first, after=position
        )
        found = records(WebhookDeliveryRecord, rows[:first])
        attempts: dict[str, list[WebhookAttemptRecord]] = {row.id: [] for row in found}
        for attempt in records(WebhookAttemptRecord, await store.attempts(conn, [row.id for row in found])):
            attempts[attempt.delivery_id].append(attempt)
    return WebhookPage([], found, attempts, len(rows) > first, after is not None)


# Repairs


async def retry_delivery(
    uow: UnitOfWork, caller: Caller, delivery_id: str
) -> tuple[WebhookDeliveryRecord, list[WebhookAttemptRecord]]:
    """Send a delivery again now, with a full schedule of attempts (a SUCCEEDED one too); the
    delivery and the attempts it has had."""
    async with uow.transaction() as conn:
        if not await store.requeue_delivery(conn, caller.organization_id, delivery_id, _now()):
            raise NotFoundError(f"Webhook delivery {delivery_id} not found.", delivery_id)
        found = await store.delivery(conn, caller.organization_id, delivery_id)
        attempts = records(WebhookAttemptRecord, await store.attempts(conn, [delivery_id]))
    assert found is not None
    return record(WebhookDeliveryRecord, found), attempts


async def replay(
    uow: UnitOfWork, caller: Caller, endpoint_id: str, from_position: int
) -> WebhookEndpointRecord:
    """Deliver again every event of the endpoint's types from ``from_position`` on, those it
    was sent already and those committed before it existed alike."""
    if from_position < 1:
        raise BadUserInputError("fromPosition is 1 or more.", "fromPosition")
    async with uow.transaction() as conn:
        found = await store.endpoint(conn, caller.organization_id, endpoint_id, lock=True)
        if found is None:
            raise _not_found(endpoint_id)
        await store.requeue_from(conn, caller.organization_id, endpoint_id, from_position, _now())
        cursor = min(found["cursor"], from_position - 1)
        await store.update_endpoint(conn, caller.organization_id, endpoint_id, {"cursor": cursor})
        found = await store.endpoint(conn, caller.organization_id, endpoint_id)
    assert found is not None
    return record(WebhookEndpointRecord, found)


async def ping(uow: UnitOfWork, caller: Caller, endpoint_id: str) -> WebhookDeliveryRecord:
    """A test delivery of type PING, sent now (a disabled endpoint is pinged too)."""
    now = _now()
    delivery_id = str(uuid.uuid4())
    event_id = str(uuid.uuid4())
    async with uow.transaction() as conn:
        if await store.endpoint(conn, caller.organization_id, endpoint_id) is None:
            raise _not_found(endpoint_id)
        body = {"type": rules.PING, "timestamp": now.isoformat(), "data": {"endpointId": endpoint_id}}
        await store.add_deliveries(
            conn,
            [
                {
                    "id": delivery_id,
                    "organization_id": caller.organization_id,
                    "endpoint_id": endpoint_id,
                    "event_id": event_id,
                    "event_type": rules.PING,
                    "status": rules.DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "body": body,
                    "created_at": now,
                }
            ],
        )
        found = await store.delivery(conn, caller.organization_id, delivery_id)
    assert found is not None
    return record(WebhookDeliveryRecord, found)
