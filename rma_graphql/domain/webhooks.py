"""Webhook rules: which events an endpoint hears, where it may point, when a failed
delivery is tried again, and when an endpoint that keeps failing is disabled."""

import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from rma_graphql.domain.errors import BadUserInputError

PING = "PING"
# How long the secret before a rotation keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
# How much of a receiver's answer is kept.
ANSWER_BYTES = 1024


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def check_url(url: str, field: str = "input.url") -> str:
    """An absolute http or https URL with a host (BAD_USER_INPUT otherwise)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise BadUserInputError(f"A webhook URL is at most {MAX_URL_LENGTH} characters.", field)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUserInputError(
            f"A webhook URL is an absolute http:// or https:// URL with a host; got {url!r}.", field
        )
    if parts.username or parts.password:
        raise BadUserInputError("A webhook URL carries no user name or password.", field)
    return url


def hears(event_types: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``event_types`` (empty: every type) gets the event."""
    return not event_types or event_type in event_types


def private_address(address: str) -> bool:
    """Whether an address is one a webhook may reach only where private networks are allowed:
    loopback, link-local, private, shared, multicast, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def refused_addresses(addresses: Iterable[str]) -> list[str]:
    return [address for address in addresses if private_address(address)]


@dataclass(frozen=True)
class RetrySchedule:
    """Seconds between attempts: a delivery is attempted ``len(seconds) + 1`` times."""

    seconds: tuple[float, ...]
    jitter: float = 0.1

    @property
    def attempts(self) -> int:
        return len(self.seconds) + 1

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """When to try again after ``attempts`` failed attempts (None: no attempt is left)."""
        if attempts >= self.attempts:
            return None
        delay = self.seconds[attempts - 1]
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return now + timedelta(seconds=delay * spread)


def disabled_reason(consecutive_failures: int, limit: int) -> str | None:
    """Why an endpoint is disabled after this many consecutive FAILED deliveries (None: it
    stays enabled)."""
    if consecutive_failures < limit:
        return None
    return f"{consecutive_failures} consecutive deliveries failed every attempt"
