"""Sending webhooks: deliveries are derived from the event log (each endpoint keeps a cursor
over its organization's positions, moved in the transaction that writes the deliveries), then
leased, sent signed (Standard Webhooks), and their outcome recorded.

A delivery exists exactly when its event committed, and is sent at least once: a sender
that stops between sending and recording sends again once its lease has passed. On
PostgreSQL every process sends, sharing the work with ``FOR UPDATE SKIP LOCKED``; each
endpoint's deliveries are sent one after another, in position order, by one task, so a
slow endpoint holds back only itself.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from rma_graphql.config import Settings
from rma_graphql.db import webhook_repository as store
from rma_graphql.domain import webhooks as rules
from rma_graphql.domain.webhooks import DeliveryStatus, RetrySchedule
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.webhooks import SecretBox

logger = logging.getLogger("rma_graphql.webhooks")

# Makes a delivery's body from its event's row and the RMA order as of the event's version.
Render = Callable[[Mapping[str, Any], Any], dict[str, Any]]

CLAIM_LIMIT = 200
ENDPOINTS_PER_ROUND = 50
EVENTS_PER_ENDPOINT = 500
# Results are recorded in batches of this many (fewer at the end of a group).
RECORD_EVERY = 50
POLL_SECONDS = 1.0
RETRY_SECONDS = 2.0
USER_AGENT = "rma_graphql-webhooks"


@dataclass
class _Outcome:
    delivery: Mapping[str, Any]
    started: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None
    answer: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass
class WebhookSender:
    uow: UnitOfWork
    settings: Settings
    box: SecretBox
    render: Render
    # Sends made since start (attempts, succeeded or not).
    sent: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _busy: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)
    _task: "asyncio.Task[None] | None" = None
    _client: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self.schedule = RetrySchedule(tuple(self.settings.webhook_retry_schedule))
        self.timeout = self.settings.webhook_timeout_seconds

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False, timeout=self.timeout, headers={"user-agent": USER_AGENT}
        )
        self._task = asyncio.create_task(self._run())

    def wake(self, *_: Any) -> None:
        """Look for new events and due deliveries now (a commit, a retry asked for)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop sending; what was leased and not recorded is sent again once its lease passes."""
        tasks = [task for task in (self._task, *self._busy.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.derive()
                claimed, wait = await self._claim()
            except Exception:  # the database is away: try again soon
                logger.exception("webhook delivery could not read its work; retrying")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for endpoint_id, group in _by_endpoint(claimed).items():
                self._busy[endpoint_id] = asyncio.create_task(self._send_group(endpoint_id, group))
            if len(claimed) < CLAIM_LIMIT:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def derive(self) -> int:
        """Turn the events committed since each endpoint's cursor into its deliveries."""
        async with self.uow.read() as conn:
            if not await store.any_endpoint_behind(conn):
                return 0
        made = 0
        while True:
            full = False
            async with self.uow.transaction() as conn:
                for endpoint in await store.endpoints_behind(conn, ENDPOINTS_PER_ROUND):
                    rows, cursor, more = await self._deliveries_of(conn, endpoint)
                    await store.add_deliveries(conn, rows)
                    await store.update_endpoint(
                        conn, endpoint["organization_id"], endpoint["id"], {"cursor": cursor}
                    )
                    made += len(rows)
                    full = full or more
            if not full:
                return made

    async def _deliveries_of(
        self, conn: Any, endpoint: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], int, bool]:
        high = endpoint["last_event_position"]
        events = await store.events_after(
            conn, endpoint["organization_id"], endpoint["cursor"], high, EVENTS_PER_ENDPOINT
        )
        more = len(events) == EVENTS_PER_ENDPOINT
        now = datetime.now(UTC)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "organization_id": endpoint["organization_id"],
                "endpoint_id": endpoint["id"],
                "event_id": event["id"],
                "event_type": event["type"],
                "event_position": event["position"],
                "rma_order_id": event["rma_order_id"],
                "version": event["version"],
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            if rules.hears(endpoint["event_types"], event["type"])
        ]
        return rows, events[-1]["position"] if more else high, more

    async def _claim(self) -> tuple[list[Mapping[str, Any]], float]:
        """Deliveries leased to this sender, and how long to wait for the next due one."""
        now = datetime.now(UTC)
        async with self.uow.read() as conn:
            due = await store.next_due(conn)
        if due is None or due > now:
            wait = POLL_SECONDS if due is None else (due - now).total_seconds()
            return [], min(max(wait, 0.01), POLL_SECONDS)
        lease = now + timedelta(seconds=self.timeout + 30)
        async with self.uow.transaction() as conn:
            return await store.claim_due(conn, now, lease, CLAIM_LIMIT, list(self._busy)), POLL_SECONDS

    async def _send_group(self, endpoint_id: str, deliveries: Sequence[Mapping[str, Any]]) -> None:
        """Send an endpoint's claimed deliveries in order, recording them in batches; stop
        (and give the rest back) before their lease could pass."""
        try:
            async with self.uow.read() as conn:
                endpoint = await store.endpoint(conn, deliveries[0]["organization_id"], endpoint_id)
                bodies = await self._bodies(conn, deliveries)
            outcomes: list[_Outcome] = []
            deadline = time.monotonic() + 25
            for index, delivery in enumerate(deliveries):
                if endpoint is None or time.monotonic() > deadline:
                    async with self.uow.transaction() as conn:
                        await store.release(conn, [d["id"] for d in deliveries[index:]])
                    break
                outcomes.append(await self._send(endpoint, delivery, bodies[delivery["id"]]))
                if len(outcomes) == RECORD_EVERY:
                    await self._record(endpoint, outcomes)
                    outcomes = []
            if outcomes and endpoint is not None:
                await self._record(endpoint, outcomes)
        except Exception:
            logger.exception(
                "sending the webhooks of endpoint %s failed; they are sent again later", endpoint_id
            )
        finally:
            self._busy.pop(endpoint_id, None)
            self.wake()

    async def _bodies(self, conn: Any, deliveries: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
        events = await store.events_by_id(conn, [d["event_id"] for d in deliveries if d["body"] is None])
        pairs = [(event["rma_order_id"], event["version"]) for event in events.values()]
        revisions = await store.revisions_of(conn, pairs)
        bodies = {}
        for delivery in deliveries:
            if delivery["body"] is not None:
                body = delivery["body"]
            else:
                event = events[delivery["event_id"]]
                body = self.render(event, revisions.get((event["rma_order_id"], event["version"])))
            bodies[delivery["id"]] = orjson.dumps(body)
        return bodies

    def _headers(
        self, endpoint: Mapping[str, Any], delivery: Mapping[str, Any], body: bytes
    ) -> dict[str, str]:
        now = datetime.now(UTC)
        secrets = [endpoint["secret"]]
        expires = endpoint["previous_secret_expires_at"]
        if endpoint["previous_secret"] is not None and expires is not None and expires > now:
            secrets.append(endpoint["previous_secret"])
        text = body.decode()
        signatures = [
            Webhook(self.box.open(sealed)).sign(delivery["event_id"], now, text) for sealed in secrets
        ]
        return {
            "content-type": "application/json",
            "webhook-id": delivery["event_id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),
        }

    async def _send(self, endpoint: Mapping[str, Any], delivery: Mapping[str, Any], body: bytes) -> _Outcome:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        outcome = _Outcome(delivery, started, 0)
        assert self._client is not None
        try:
            refusal = await self._refused(endpoint["url"])
            if refusal is not None:
                outcome.error = refusal
            else:
                headers = self._headers(endpoint, delivery, body)
                async with self._client.stream(
                    "POST", endpoint["url"], content=body, headers=headers
                ) as answer:
                    outcome.http_status = answer.status_code
                    outcome.answer = await _first_bytes(answer)
        except httpx.TimeoutException:
            outcome.error = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as error:
            outcome.error = f"{type(error).__name__}: {error}"[:500]
        outcome.duration_ms = round((time.perf_counter() - clock) * 1000)
        self.sent += 1
        return outcome

    async def _refused(self, url: str) -> str | None:
        """Why a URL may not be reached (its host resolves to a private address), if so."""
        if self.settings.webhook_allow_private_networks:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError as error:
            return f"{host} does not resolve: {error}"
        refused = rules.refused_addresses([str(info[4][0]) for info in found])
        if refused:
            return (
                f"{host} resolves to a private address ({refused[0]}): set RMA_WEBHOOK_ALLOW_PRIVATE_NETWORKS"
            )
        return None

    async def _record(self, endpoint: Mapping[str, Any], outcomes: Sequence[_Outcome]) -> None:
        now = datetime.now(UTC)
        failed_since_success, succeeded = 0, False
        async with self.uow.transaction() as conn:
            for outcome in outcomes:
                attempts = outcome.delivery["attempts"] + 1
                values: dict[str, Any] = {"attempts": attempts}
                if outcome.ok:
                    values.update(
                        status=DeliveryStatus.SUCCEEDED.value, next_attempt_at=None, completed_at=now
                    )
                    failed_since_success, succeeded = 0, True
                else:
                    retry_at = self.schedule.next_attempt(attempts, now)
                    if retry_at is None:
                        values.update(
                            status=DeliveryStatus.FAILED.value, next_attempt_at=None, completed_at=now
                        )
                        failed_since_success += 1
                    else:
                        values["next_attempt_at"] = retry_at
                await store.finish_delivery(conn, outcome.delivery["id"], values)
            await store.add_attempts(conn, [_attempt(outcome) for outcome in outcomes])
            if succeeded or failed_since_success:
                count = await store.count_endpoint_outcome(
                    conn, endpoint["id"], failed_since_success, succeeded
                )
                reason = rules.disabled_reason(count, self.settings.webhook_disable_after)
                if reason is not None:
                    logger.warning("webhook endpoint %s disabled: %s", endpoint["id"], reason)
                    await store.disable_endpoint(conn, endpoint["id"], reason, now)


def _attempt(outcome: _Outcome) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "organization_id": outcome.delivery["organization_id"],
        "delivery_id": outcome.delivery["id"],
        "attempted_at": outcome.started,
        "duration_ms": outcome.duration_ms,
        "http_status": outcome.http_status,
        "error": outcome.error,
        "response_body": outcome.answer,
    }


async def _first_bytes(answer: httpx.Response) -> str:
    """The first KiB of an answer (the rest is not read)."""
    kept = b""
    async for chunk in answer.aiter_bytes():
        kept += chunk
        if len(kept) >= rules.ANSWER_BYTES:
            break
    return kept[: rules.ANSWER_BYTES].decode(errors="replace")


def _by_endpoint(deliveries: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery["endpoint_id"], []).append(delivery)
    return groups
