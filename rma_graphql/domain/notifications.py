"""Email notifications: what triggers a rule, who receives it, and the variables a template
may use.

A rule fires on an event of the RMA order's history: an event of a type (narrowed, for the
financial resolution events, to a resolution type), a status reached in one of the four
dimensions, or a custom state reached. It sends its template to the RMA order's sender, its
owner, the customer account that owns it, and fixed staff addresses, each in the
recipient's language.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.rma_money import resolution_named
from rma_graphql.domain.statuses import (
    DeliveryStatus,
    Dimension,
    EventType,
    FinancialResolutionType,
    FinancialStatus,
    FulfillmentStatus,
    ProcessingStatus,
)

MAX_KEY_LENGTH = 60
MAX_RULE_NAME_LENGTH = 200
MAX_ADDRESSES = 20
MAX_ADDRESS_LENGTH = 320
# What a mail header's address cannot carry unquoted (\s: every character str.isspace calls space).
_NOT_IN_ADDRESS = re.compile(r'[\s<>,;"()]')
MAX_SUBJECT_LENGTH = 300
MAX_BODY_LENGTH = 50_000
STATUSES: dict[Dimension, type[StrEnum]] = {
    Dimension.PROCESSING: ProcessingStatus,
    Dimension.DELIVERY: DeliveryStatus,
    Dimension.FINANCIAL: FinancialStatus,
    Dimension.FULFILLMENT: FulfillmentStatus,
}
RESOLUTION_EVENTS = frozenset(
    {
        EventType.FINANCIAL_RESOLUTION_CREATED,
        EventType.FINANCIAL_RESOLUTION_EXECUTED,
        EventType.FINANCIAL_RESOLUTION_FAILED,
        EventType.FINANCIAL_RESOLUTION_REJECTED,
    }
)


class RecipientKind(StrEnum):
    SENDER = "SENDER"  # the RMA order's sender contact
    OWNER = "OWNER"  # its owner contact
    CUSTOMER = "CUSTOMER"  # the customer account that owns it
    STAFF = "STAFF"  # a fixed address of the rule


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    # Recorded while no SMTP server is set; retried by hand once one is.
    NOT_SENT = "NOT_SENT"


# What a template may use, and what each holds (documented in the README).
VARIABLES: dict[str, str] = {
    "reference": "the return reference (RMA-1001)",
    "rma_order_id": "the RMA order's id",
    "organization": "the organization's name",
    "recipient": "`name` and `email` of the person the mail is for",
    "language": "the language the mail is written in (BCP 47)",
    "event": "`type`, `message` (the history sentence, translated) and `occurred_at` (formatted)",
    "reason": "the event's comment: a rejection's or cancellation's reason",
    "status": "`processing`, `delivery`, `financial`, `fulfillment`: the statuses in words",
    "status_code": "the same four as their codes (ACCEPTED, REFUNDED…)",
    "lines": "each line's `sku`, `label`, `quantity`, `reason` and `price` (formatted)",
    "total": "the lines' value, formatted for the language and currency",
    "amount": "the financial resolution's amount, formatted (financial resolution events)",
    "voucher": "`code`, `amount` and `expires_at` of the voucher issued (voucher resolutions)",
    "slip_link": "the printable return slip's link",
    "tracking_number": "the latest return shipment's tracking number",
    "tracking_link": "the latest return shipment's tracking link",
    "custom_state": "the custom state's name in the language",
    "custom_state_code": "the custom state's code",
}


@dataclass(frozen=True)
class Trigger:
    """One of: ``event_type`` (with ``resolution_type`` for financial resolution events),
    ``dimension`` and ``status``, or ``custom_state``."""

    event_type: str | None = None
    resolution_type: str | None = None
    dimension: str | None = None
    status: str | None = None
    custom_state: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.__dict__.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Trigger":
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})

    def fires(self, event_type: str, changes: Sequence[Mapping[str, Any]], comment: str | None) -> bool:
        """Whether an event with this type, status changes and comment fires the trigger."""
        if self.event_type is not None:
            if event_type != self.event_type:
                return False
            named = resolution_named(comment)
            return self.resolution_type is None or (named is not None and named[0] == self.resolution_type)
        if self.dimension is not None:
            return any(c.get("dimension") == self.dimension and c.get("to") == self.status for c in changes)
        return event_type == EventType.CUSTOM_STATE_CHANGED and comment == self.custom_state


def check_trigger(trigger: Trigger, field: str = "input.trigger") -> Trigger:
    """A trigger that names exactly one thing to wait for (BAD_USER_INPUT otherwise)."""
    kinds = [trigger.event_type is not None, trigger.dimension is not None, trigger.custom_state is not None]
    if sum(kinds) != 1:
        raise BadUserInputError(
            "A trigger is one of: an eventType, a dimension with a status, or a customStateCode.", field
        )
    if trigger.resolution_type is not None:
        if trigger.event_type not in RESOLUTION_EVENTS:
            raise BadUserInputError(
                "resolutionType narrows the financial resolution events only.", f"{field}.resolutionType"
            )
        if trigger.resolution_type not in FinancialResolutionType.__members__:
            raise BadUserInputError("Unknown resolutionType.", f"{field}.resolutionType")
    if trigger.dimension is not None:
        statuses = STATUSES[Dimension(trigger.dimension)]
        if trigger.status not in statuses.__members__:
            raise BadUserInputError(
                f"A {trigger.dimension} status is one of {', '.join(statuses.__members__)}.",
                f"{field}.status",
            )
    elif trigger.status is not None:
        raise BadUserInputError("A status is given with its dimension.", f"{field}.dimension")
    return trigger


def check_address(address: str, field: str) -> str:
    """One email address, as a mail header may carry it."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(address) > MAX_ADDRESS_LENGTH
        or _NOT_IN_ADDRESS.search(address)
    ):
        raise BadUserInputError(f"{address!r} is not an email address.", field)
    return address


def check_recipients(
    kinds: Sequence[RecipientKind | str], addresses: Sequence[str], field: str = "input.recipients"
) -> tuple[list[str], list[str]]:
    """The recipient kinds (STAFF implied by addresses) and the staff addresses, checked."""
    checked = [check_address(a, f"{field}.addresses") for a in addresses]
    if len(checked) > MAX_ADDRESSES:
        raise BadUserInputError(f"A rule has at most {MAX_ADDRESSES} staff addresses.", f"{field}.addresses")
    named = [RecipientKind(kind).value for kind in dict.fromkeys(kinds) if kind != RecipientKind.STAFF]
    if checked:
        named.append(RecipientKind.STAFF.value)
    if not named:
        raise BadUserInputError(
            "Name who receives the notification: SENDER, OWNER, CUSTOMER or staff addresses.", field
        )
    return named, list(dict.fromkeys(checked))


def check_key(key: str, field: str = "input.key") -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(ch.isalnum() or ch in "_-." for ch in key):
        raise BadUserInputError(
            f"A template key is 1 to {MAX_KEY_LENGTH} letters, digits, '_', '-' or '.'.", field
        )
    return key
