"""What a reader asks for: the criteria of the lists and feeds, in domain words.

The database layer turns each into predicates; the event hub also tests a live event
against an ``EventFilter`` before it reaches a subscriber.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rma_graphql.domain.statuses import CommentVisibility

# The comments a customer sees; other events have no visibility and every reader sees them.
FOR_CUSTOMER = CommentVisibility.CUSTOMER.value


@dataclass
class RmaOrderFilter:
    processing_status: list[str] | None = None
    delivery_status: list[str] | None = None
    financial_status: list[str] | None = None
    fulfillment_status: list[str] | None = None
    expected_resolution: list[str] | None = None
    custom_state: list[str] | None = None
    location_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None
    include_deleted: bool = False


@dataclass(frozen=True)
class CatalogFilter:
    """Products, customers, SKUs or orders: a substring of their search text, and for orders
    their status, return status, customer and order date."""

    search: str | None = None
    statuses: tuple[str, ...] = ()
    return_statuses: tuple[str, ...] = ()
    customer_id: str | None = None
    # One order only (a portal guest's).
    order_id: str | None = None
    ordered_after: datetime | None = None
    ordered_before: datetime | None = None


@dataclass(frozen=True)
class EventFilter:
    """Which events a reader gets. A customer's filter names it: it sees the events of its
    own RMA orders only, and never an INTERNAL comment's."""

    rma_order_id: str | None = None
    types: frozenset[str] | None = None
    customer_id: str | None = None

    def matches(self, event: "Event") -> bool:
        if self.rma_order_id is not None and event.rma_order_id != self.rma_order_id:
            return False
        if self.customer_id is not None and (
            event.customer_id != self.customer_id or event.visibility not in (None, FOR_CUSTOMER)
        ):
            return False
        return not self.types or event.type in self.types


class Event(Protocol):
    """What a filter reads of an event."""

    @property
    def rma_order_id(self) -> str: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def visibility(self) -> str | None: ...
    @property
    def type(self) -> str: ...
