"""Sending webhooks: deliveries are derived from the event log (each endpoint keeps a cursor
over its organization's positions, moved in the transaction that writes the deliveries), then
leased, sent signed (Standard Webhooks), and their outcome recorded.

A delivery exists exactly when its event committed, and is sent at least once: a sender
that stops between sending and recording sends again once its lease has passed. On
PostgreSQL every process sends, sharing the work with ``FOR UPDATE SKIP LOCKED``; each
endpoint's deliveries are sent by one task, started in position order (a few in flight), so a
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

import aiohttp
import orjson
from standardwebhooks.webhooks import Webhook

from rma_graphql.config import Settings
from rma_graphql.db import event_reads
from rma_graphql.db import webhook_repository as store
from rma_graphql.domain import webhooks as rules
from rma_graphql.domain.webhooks import DeliveryStatus, RetrySchedule
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.wakeups import Wakeups
from rma_graphql.service.webhooks import SecretBox

logger = logging.getLogger("rma_graphql.webhooks")

# Makes a delivery's body from its event's row and the RMA order as of the event's version.
Render = Callable[[Mapping[str, Any], Any], dict[str, Any]]

CLAIM_LIMIT = 200
ENDPOINTS_PER_ROUND = 50
EVENTS_PER_ENDPOINT = 500
# Results are recorded in batches of this many (fewer at the end of a group).
RECORD_EVERY = 50
# Deliveries to one endpoint in flight at once.
IN_FLIGHT = 4
POLL_SECONDS = 1.0
# Commits heard within this long make one round (its statements and the events it reads):
# at 10 ms the rounds, about one per commit batch, cost a server 5 % of its CPU under load.
BATCH_SECONDS = 0.05
# A lease lasts twice the timeout and this many seconds; a delivery is sent only while its
# lease has the timeout and this margin left (else it is given back), so a sender that
# stopped without a word holds its deliveries for that long at most.
LEASE_MARGIN = 5
RETRY_SECONDS = 2.0
USER_AGENT = "rma_graphql-webhooks"
# A delivery derived here carries its event's row and its endpoint's under these keys.
EVENT = "event"
ENDPOINT = "endpoint"


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
    _wakeups: Wakeups = field(default_factory=Wakeups)
    _busy: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)
    _lanes: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    _signers: dict[str, Webhook] = field(default_factory=dict)
    _task: "asyncio.Task[None] | None" = None
    _client: aiohttp.ClientSession | None = None
    # When (time.monotonic()) to read again when the next pending delivery is due: a commit
    # heard before then brings new events, not new due deliveries.
    _look_at: float = 0.0

    def __post_init__(self) -> None:
        self.schedule = RetrySchedule(tuple(self.settings.webhook_retry_schedule))
        self.timeout = self.settings.webhook_timeout_seconds

    def start(self) -> None:
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout), headers={"user-agent": USER_AGENT}
        )
        self._task = asyncio.create_task(self._run())

    def wake(self, *_: Any) -> None:
        """Look for new events and due deliveries now (a retry asked for, an endpoint changed,
        a batch recorded)."""
        self._look_at = 0.0
        self._wakeups.wake()

    def heard_commit(self) -> None:
        """Look for new events now (a commit); due deliveries when their time comes."""
        self._wakeups.wake()

    async def stop(self) -> None:
        """Stop sending; what was leased and not recorded is sent again once its lease passes."""
        self._wakeups.stop()
        tasks = [task for task in (self._task, *self._busy.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()

    async def _run(self) -> None:
        wait = 0.0
        # Commits that come close together are sent in one round.
        while await self._wakeups.next(wait, BATCH_SECONDS):
            try:
                fresh = await self.derive()
                claimed, wait = await self.claim()
            except Exception:  # the database is away: try again soon
                logger.exception("webhook delivery could not read its work; retrying")
                wait = RETRY_SECONDS
                continue
            for endpoint_id, group in _by_endpoint([*fresh, *claimed]).items():
                self._queue(endpoint_id, group)
            if len(claimed) == CLAIM_LIMIT:
                wait = 0.0

    def _queue(self, endpoint_id: str, deliveries: Sequence[Mapping[str, Any]]) -> None:
        """Give deliveries leased here to their endpoint's lane: one task per endpoint sends
        its deliveries, started in the order they came."""
        lane = self._lanes.setdefault(endpoint_id, [])
        lane.extend(deliveries)
        if endpoint_id not in self._busy:
            self._busy[endpoint_id] = asyncio.create_task(self._send_lane(endpoint_id))

    async def derive(self) -> list[dict[str, Any]]:
        """Turn the events committed since each endpoint's cursor into its deliveries, leased
        to this sender to send now."""
        # Look before locking endpoints in a transaction (and, on SQLite, before taking the one
        # writer's lock): most commits have no endpoint to tell.
        async with self.uow.read() as conn:
            if not await store.any_endpoint_behind(conn):
                return []
        leased: list[dict[str, Any]] = []
        while True:
            full = False
            async with self.uow.transaction() as conn:
                for endpoint in await store.endpoints_behind(conn, ENDPOINTS_PER_ROUND):
                    rows, cursor, more = await self._deliveries_of(conn, endpoint)
                    added = await store.add_deliveries(
                        conn, [{k: v for k, v in row.items() if k not in (EVENT, ENDPOINT)} for row in rows]
                    )
                    await store.update_endpoint(
                        conn, endpoint["organization_id"], endpoint["id"], {"cursor": cursor}
                    )
                    leased += [row for row in rows if row["id"] in added]
                    full = full or more
            if not full:
                return leased

    async def _deliveries_of(
        self, conn: Any, endpoint: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], int, bool]:
        high = endpoint["last_event_position"]
        events = await event_reads.events_between(
            conn, endpoint["organization_id"], endpoint["cursor"], high, EVENTS_PER_ENDPOINT
        )
        more = len(events) == EVENTS_PER_ENDPOINT
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=2 * self.timeout + LEASE_MARGIN)
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
                "leased_until": lease,
                "body": None,
                "created_at": now,
                # Read already: the body is made of the event, and the endpoint signs it.
                EVENT: event,
                ENDPOINT: endpoint,
            }
            for event in events
            if rules.hears(endpoint["event_types"], event["type"])
        ]
        return rows, events[-1]["position"] if more else high, more

    async def claim(self) -> tuple[list[Mapping[str, Any]], float]:
        """Deliveries leased to this sender, and how long to wait for the next due one. When
        that is known (read less than POLL_SECONDS ago: another process's retries and lapsed
        leases are found within that), nothing is read before it comes."""
        ahead = self._look_at - time.monotonic()
        if ahead > 0:
            return [], ahead
        now = datetime.now(UTC)
        async with self.uow.read() as conn:
            due = await store.next_due(conn, now)
        if due is None or due > now:
            wait = POLL_SECONDS if due is None else (due - now).total_seconds()
            wait = min(max(wait, 0.01), POLL_SECONDS)
            self._look_at = time.monotonic() + wait
            return [], wait
        lease = now + timedelta(seconds=2 * self.timeout + LEASE_MARGIN)
        async with self.uow.transaction() as conn:
            return await store.claim_due(conn, now, lease, CLAIM_LIMIT, list(self._busy)), POLL_SECONDS

    async def _send_lane(self, endpoint_id: str) -> None:
        """Send what the endpoint's lane holds until it is empty, a batch at a time (bodies
        read and outcomes recorded per batch); a delivery whose lease is about to pass is
        given back instead (another sender may take it)."""
        lane = self._lanes[endpoint_id]
        try:
            while lane and not self._wakeups.stopping:
                batch, lane[:] = lane[:RECORD_EVERY], lane[RECORD_EVERY:]
                await self._send_batch(endpoint_id, batch)
        except Exception:
            logger.exception(
                "sending the webhooks of endpoint %s failed; they are sent again later", endpoint_id
            )
        finally:
            self._lanes.pop(endpoint_id, None)
            self._busy.pop(endpoint_id, None)
            self.wake()

    async def _send_batch(self, endpoint_id: str, deliveries: Sequence[Mapping[str, Any]]) -> None:
        async with self.uow.read() as conn:
            endpoint = deliveries[0].get(ENDPOINT) or await store.endpoint(
                conn, deliveries[0]["organization_id"], endpoint_id
            )
            bodies = await self._bodies(conn, deliveries)
        expired: list[str] = []
        sends: list[asyncio.Task[_Outcome]] = []
        # A few in flight at once, each started after the one before it (in position order).
        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def send(delivery: Mapping[str, Any]) -> _Outcome:
            try:
                assert endpoint is not None
                return await self._send(endpoint, delivery, bodies[delivery["id"]])
            finally:
                in_flight.release()

        async with asyncio.TaskGroup() as group:
            for delivery in deliveries:
                left = (delivery["leased_until"] - datetime.now(UTC)).total_seconds()
                if endpoint is None or left < self.timeout + LEASE_MARGIN:
                    expired.append(delivery["id"])
                    continue
                await in_flight.acquire()
                sends.append(group.create_task(send(delivery)))
        outcomes = [sent.result() for sent in sends]
        if expired:
            async with self.uow.transaction() as conn:
                await store.release(conn, expired)
        if outcomes and endpoint is not None:
            await self._record(endpoint, outcomes)

    async def _bodies(self, conn: Any, deliveries: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
        events = {d["event_id"]: d[EVENT] for d in deliveries if EVENT in d}
        missing = [d["event_id"] for d in deliveries if d["body"] is None and d["event_id"] not in events]
        if missing:
            events.update(await store.events_by_id(conn, missing))
        pairs = [(event["rma_order_id"], event["version"]) for event in events.values()]
        revisions = await event_reads.revisions_of(conn, pairs)
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
        signatures = [self._signer(sealed).sign(delivery["event_id"], now, text) for sealed in secrets]
        return {
            "content-type": "application/json",
            "webhook-id": delivery["event_id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),
        }

    def _signer(self, sealed: str) -> Webhook:
        """The signer of a sealed secret (opened once)."""
        signer = self._signers.get(sealed)
        if signer is None:
            if len(self._signers) > 1000:
                self._signers.clear()
            signer = self._signers[sealed] = Webhook(self.box.open(sealed))
        return signer

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
                async with self._client.post(
                    endpoint["url"], data=body, headers=headers, allow_redirects=False
                ) as answer:
                    outcome.http_status = answer.status
                    outcome.answer = await _first_bytes(answer)
        except TimeoutError:
            outcome.error = f"no answer within {self.timeout:g} s"
        except aiohttp.ClientError as error:
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
            succeeded_by_lease: dict[datetime, list[str]] = {}
            for outcome in outcomes:
                if outcome.ok:
                    succeeded_by_lease.setdefault(outcome.delivery["leased_until"], []).append(
                        outcome.delivery["id"]
                    )
            for leased_until, ids in succeeded_by_lease.items():
                await store.succeed(conn, ids, leased_until, now)
            for outcome in outcomes:
                if outcome.ok:
                    failed_since_success, succeeded = 0, True
                    continue
                attempts = outcome.delivery["attempts"] + 1
                values: dict[str, Any] = {"attempts": attempts}
                retry_at = self.schedule.next_attempt(attempts, now)
                if retry_at is None:
                    values.update(status=DeliveryStatus.FAILED.value, next_attempt_at=None, completed_at=now)
                    failed_since_success += 1
                else:
                    values["next_attempt_at"] = retry_at
                await store.finish_delivery(
                    conn, outcome.delivery["id"], outcome.delivery["leased_until"], values
                )
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


async def _first_bytes(answer: aiohttp.ClientResponse) -> str:
    """The first KiB of an answer (the rest is not read)."""
    kept = b""
    while len(kept) < rules.ANSWER_BYTES:
        chunk = await answer.content.read(rules.ANSWER_BYTES - len(kept))
        if not chunk:
            break
        kept += chunk
    return kept.decode(errors="replace")


def _by_endpoint(deliveries: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery["endpoint_id"], []).append(delivery)
    return groups
