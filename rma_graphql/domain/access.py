"""Who may do what: scopes, roles and what a customer may do on its own RMA orders."""

from enum import StrEnum


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
VIEW_ORGANIZATIONS = "view_organizations"
EDIT_ORGANIZATIONS = "edit_organizations"

RMA_ORDER_SCOPES = frozenset({VIEW_RMA_ORDERS, CREATE_RMA_ORDERS, EDIT_RMA_ORDERS, PROCESS_RMA_ORDERS})
SCOPES: frozenset[str] = RMA_ORDER_SCOPES | {
    VIEW_RMA_CONFIGURATIONS,
    CREATE_RMA_CONFIGURATIONS,
    EDIT_RMA_CONFIGURATIONS,
    VIEW_ORGANIZATIONS,
    EDIT_ORGANIZATIONS,
}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: SCOPES,
    Role.AGENT: RMA_ORDER_SCOPES | {VIEW_RMA_CONFIGURATIONS},
    Role.INSPECTOR: frozenset({VIEW_RMA_ORDERS, PROCESS_RMA_ORDERS}),
    # What a customer may do is narrowed further to its own RMA orders and the actions below.
    Role.CUSTOMER: frozenset({VIEW_RMA_ORDERS, CREATE_RMA_ORDERS, EDIT_RMA_ORDERS}),
}

# The actions a customer may take on an RMA order it owns.
CUSTOMER_ACTIONS = frozenset({"update", "submit", "cancel"})

# Fields of RmaOrderInput / RmaOrderUpdateInput reserved for staff, by their GraphQL path.
STAFF_FIELDS = (
    "accept",
    "autoGenerateFinancialResolution",
    "autoExecuteFinancialResolution",
    "retainedAmountForShipping",
    "applyReturnFee",
)


def parse_scopes(text: str | None) -> frozenset[str] | None:
    """Space- or comma-separated scope names; ``None`` for an empty or absent text."""
    if text is None:
        return None
    names = frozenset(name for name in text.replace(",", " ").split() if name)
    return names or None


def unknown_scopes(names: frozenset[str]) -> list[str]:
    return sorted(names - SCOPES)
