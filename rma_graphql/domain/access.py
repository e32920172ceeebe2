"""Who may do what: scopes, roles and what a customer may do on its own RMA orders."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import ForbiddenError
from rma_graphql.domain.statuses import ActorType, ProcessingStatus


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    INSPECTOR = "INSPECTOR"
    CUSTOMER = "CUSTOMER"


VIEW_RMA_ORDERS = "view_rma_orders"
CREATE_RMA_ORDERS = "create_rma_orders"
EDIT_RMA_ORDERS = "edit_rma_orders"
PROCESS_RMA_ORDERS = "process_rma_orders"
VIEW_RMA_CONFIGURATIONS = "view_rma_configurations"
CREATE_RMA_CONFIGURATIONS = "create_rma_configurations"
EDIT_RMA_CONFIGURATIONS = "edit_rma_configurations"
VIEW_PRODUCTS = "view_products"
CREATE_PRODUCTS = "create_products"
EDIT_PRODUCTS = "edit_products"
VIEW_CUSTOMERS = "view_customers"
CREATE_CUSTOMERS = "create_customers"
EDIT_CUSTOMERS = "edit_customers"
VIEW_ORDERS = "view_orders"
CREATE_ORDERS = "create_orders"
EDIT_ORDERS = "edit_orders"
VIEW_VOUCHERS = "view_vouchers"
EDIT_VOUCHERS = "edit_vouchers"
VIEW_ORGANIZATIONS = "view_organizations"
EDIT_ORGANIZATIONS = "edit_organizations"
VIEW_WEBHOOKS = "view_webhooks"
CREATE_WEBHOOKS = "create_webhooks"
EDIT_WEBHOOKS = "edit_webhooks"
VIEW_NOTIFICATIONS = "view_notifications"
CREATE_NOTIFICATIONS = "create_notifications"
EDIT_NOTIFICATIONS = "edit_notifications"

RMA_ORDER_SCOPES = frozenset({VIEW_RMA_ORDERS, CREATE_RMA_ORDERS, EDIT_RMA_ORDERS, PROCESS_RMA_ORDERS})
SCOPES: frozenset[str] = RMA_ORDER_SCOPES | {
    VIEW_RMA_CONFIGURATIONS,
    CREATE_RMA_CONFIGURATIONS,
    EDIT_RMA_CONFIGURATIONS,
    VIEW_PRODUCTS,
    CREATE_PRODUCTS,
    EDIT_PRODUCTS,
    VIEW_CUSTOMERS,
    CREATE_CUSTOMERS,
    EDIT_CUSTOMERS,
    VIEW_ORDERS,
    CREATE_ORDERS,
    EDIT_ORDERS,
    VIEW_VOUCHERS,
    EDIT_VOUCHERS,
    VIEW_ORGANIZATIONS,
    EDIT_ORGANIZATIONS,
    VIEW_WEBHOOKS,
    CREATE_WEBHOOKS,
    EDIT_WEBHOOKS,
    VIEW_NOTIFICATIONS,
    CREATE_NOTIFICATIONS,
    EDIT_NOTIFICATIONS,
}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: SCOPES,
    # Agents look up what was bought and by whom; the warehouse what a SKU is.
    Role.AGENT: RMA_ORDER_SCOPES
    | {VIEW_RMA_CONFIGURATIONS, VIEW_PRODUCTS, VIEW_CUSTOMERS, VIEW_ORDERS, VIEW_VOUCHERS},
    Role.INSPECTOR: frozenset({VIEW_RMA_ORDERS, PROCESS_RMA_ORDERS, VIEW_PRODUCTS}),
    # What a customer may do is narrowed further to its own RMA orders and the actions below,
    # and to the orders of the catalog customer it is linked to; the return policy it reads.
    Role.CUSTOMER: frozenset(
        {VIEW_RMA_ORDERS, CREATE_RMA_ORDERS, EDIT_RMA_ORDERS, VIEW_ORDERS, VIEW_RMA_CONFIGURATIONS}
    ),
}

# The actions a customer may take on an RMA order it owns.
CUSTOMER_ACTIONS = frozenset({Action.UPDATE, Action.SUBMIT, Action.CANCEL})
# The warehouse's actions need process_rma_orders; every other change edit_rma_orders.
PROCESS_ACTIONS = frozenset(
    {
        Action.START_FULFILLMENT,
        Action.COMPLETE_PROCESSING,
        Action.UPDATE_DELIVERY_STATUS,
        Action.RECEIVE_LINE,
        Action.INSPECT_LINE,
    }
)


def action_scope(action: Action) -> str:
    return PROCESS_RMA_ORDERS if action in PROCESS_ACTIONS else EDIT_RMA_ORDERS


def parse_scopes(text: str | None) -> frozenset[str] | None:
    """Space- or comma-separated scope names; ``None`` for an empty or absent text."""
    if text is None:
        return None
    names = frozenset(name for name in text.replace(",", " ").split() if name)
    return names or None


def unknown_scopes(names: frozenset[str]) -> list[str]:
    return sorted(names - SCOPES)


SYSTEM_ACTOR: Mapping[Any, Any] = {"type": ActorType.SYSTEM.value, "id": None, "name": "system"}
ANONYMOUS_ACTOR: Mapping[Any, Any] = {
    "type": ActorType.API_CLIENT.value,
    "id": None,
    "name": "anonymous",
}


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the organization it acts in, its scopes and, for users, its role.

    Made from a verified token; service calls from inside the process (the demo seed, the
    command line) act with every scope.
    """

    organization_id: str
    actor: Mapping[Any, Any] = field(default_factory=lambda: dict(ANONYMOUS_ACTOR))
    scopes: frozenset[str] = SCOPES
    role: Role | None = None
    token_id: str | None = None
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    # A CUSTOMER user's catalog customer (User.customer) when it is linked to one.
    catalog_customer_id: str | None = None
    # The one order a portal guest found by its reference and email (portalOrderLookup).
    order_id: str | None = None

    @property
    def customer_id(self) -> str | None:
        """The user id when the caller is a CUSTOMER: it sees and acts on its own RMAs only."""
        return str(self.actor["id"]) if self.role is Role.CUSTOMER else None

    def sees_order(self, order_id: str, customer_id: str | None) -> bool:
        """Whether the caller sees this order of this catalog customer: staff see every order,
        a portal guest the one it found, a customer those of the customer it is linked to."""
        if self.role is not Role.CUSTOMER:
            return True
        if self.order_id is not None:
            return order_id == self.order_id
        return self.catalog_customer_id is not None and customer_id == self.catalog_customer_id

    def refusal(self, action: Action, processing_status: ProcessingStatus) -> str | None:
        """Why this caller may not take ``action`` on an RMA order it sees, or None: the
        scope the action needs, then what a customer may do."""
        scope = action_scope(action)
        if scope not in self.scopes:
            return f"Insufficient scope: {scope} required"
        try:
            self.check_may(action, processing_status)
        except ForbiddenError as refused:
            return str(refused)
        return None

    def check_may(self, action: Action, processing_status: ProcessingStatus) -> None:
        """FORBIDDEN unless the caller may take ``action`` on an RMA order it sees (a
        customer: update while NEW, submit, cancel)."""
        if self.customer_id is None:
            return
        if action not in CUSTOMER_ACTIONS:
            raise ForbiddenError(f"A customer may not {action.words} an RMA order.")
        if action is Action.UPDATE and processing_status is not ProcessingStatus.NEW:
            raise ForbiddenError(
                f"A customer may update an RMA order only while it is NEW; it is {processing_status}."
            )
