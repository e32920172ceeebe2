"""Typed read records: one per table the API shows, built from the rows the database layer
reads (current rows, or a revision's rows for a past version). The strawberry types read
these, never row mappings: a renamed or retyped column is a type error, not a KeyError.

Generated from the SQLModel tables' annotations (a test keeps them equal); JSON columns
are their decoded values.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationRecord:
    id: str
    name: str
    last_return_number: int
    last_event_position: int
    allow_customer_sign_up: bool
    default_language: str
    demo: bool
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationRecord:
    id: str
    organization_id: str
    name: str
    type: str
    contact: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaConfigurationRecord:
    id: str
    organization_id: str
    location_id: str
    portal_is_active: bool
    auto_accept: bool
    accept_multi: bool
    needs_pictures: bool
    request_product_state: bool
    authorization_delay: int | None
    max_authorization_delay: int | None
    reason_lines: list[str] | None
    expected_resolutions: list[str] | None
    email_contact: str | None
    shop_url: str | None
    domain: str | None
    custom_css: str | None
    tp_app_ids: list[str] | None
    auto_generate_financial_resolution: bool
    auto_execute_financial_resolution: bool
    retained_amount_for_shipping: int
    refund_shipping_on_partial_return: bool
    refund_shipping_on_complete_return: bool
    currency: str
    return_fee: int
    voucher_validity_days: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaOrderRecord:
    id: str
    organization_id: str
    configuration_id: str
    location_id: str
    return_number: int
    return_reference: str
    external_id: str | None
    external_reference: str | None
    tp_app_id: str | None
    tp_app_key: str
    return_slip_url: str | None
    currency: str
    apply_return_fee: bool
    return_fee: int
    delivery_contact: dict[str, Any]
    sender: dict[str, Any]
    owner: dict[str, Any] | None
    customer_id: str | None
    billing_contact: dict[str, Any] | None
    received_at: datetime
    issued_at: datetime
    expected_resolution: str
    processing_status: str
    delivery_status: str
    financial_status: str
    fulfillment_status: str
    held_from: str | None
    anomaly_from: str | None
    comment: str | None
    auto_generate_financial_resolution: bool
    auto_execute_financial_resolution: bool
    retained_amount_for_shipping: int
    meta: Any | None
    version: int
    last_event_sequence: int
    fulfillment_requested_at: datetime | None
    policy: dict[str, Any] | None
    return_window_override_reason: str | None
    scan_status: str | None
    scan_at: datetime | None
    refund_terms: dict[str, Any] | None
    custom_state: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaOrderLineRecord:
    id: str
    organization_id: str
    rma_order_id: str
    position: int
    label: str | None
    sku: str
    reference: str | None
    quantity: int
    reason: str
    product_state: str | None
    line_state: str
    price: int | None
    serial_number: str | None
    comment: str | None
    order_line_id: str | None
    pictures: list[str] | None
    received_quantity: int
    received_serial_numbers: list[str] | None
    inspected_quantity: int
    accepted_quantity: int
    restocked_quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaLinkedOrderRecord:
    id: str
    organization_id: str
    rma_order_id: str
    position: int
    order_id: str
    external_reference: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaFinancialResolutionRecord:
    id: str
    organization_id: str
    rma_order_id: str
    type: str
    amount: int
    currency: str
    status: str
    created_at: datetime
    executed_at: datetime | None
    reference: str | None
    failure_reason: str | None
    provider: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaOrderCommentRecord:
    id: str
    organization_id: str
    rma_order_id: str
    sequence: int
    text: str
    visibility: str
    author: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaOrderEventRecord:
    id: str
    organization_id: str
    rma_order_id: str
    position: int
    sequence: int
    type: str
    changes: list[dict[str, Any]]
    actor: dict[str, Any]
    comment: str | None
    visibility: str | None
    data: dict[str, Any] | None
    customer_id: str | None
    occurred_at: datetime
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaShipmentRecord:
    id: str
    organization_id: str
    rma_order_id: str
    sequence: int
    reference: str
    carrier_name: str | None
    tracking: str | None
    tracking_url: str | None
    label_url: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaShipmentEventRecord:
    id: str
    organization_id: str
    rma_order_id: str
    shipment_id: str
    sequence: int
    event: str
    date: datetime
    message: str | None
    location: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaLineInspectionRecord:
    id: str
    organization_id: str
    rma_order_id: str
    line_id: str
    sequence: int
    quantity: int
    product_state: str | None
    result: str
    disposition: str
    notes: str | None
    inspector: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesOrderRecord:
    id: str
    organization_id: str
    external_reference: str
    tp_app_id: str | None
    tp_app_key: str
    customer_id: str | None
    currency: str
    shipping_amount: int
    status: str
    ordered_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    return_status: str
    replacement_for_rma_id: str | None
    search_text: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesOrderLineRecord:
    id: str
    organization_id: str
    order_id: str
    position: int
    sku_id: str
    sku: str
    label: str
    quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRecord:
    id: str
    organization_id: str
    name: str
    description: str | None
    price: int
    currency: str
    search_text: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuRecord:
    id: str
    organization_id: str
    product_id: str
    code: str
    variation: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuStockRecord:
    sku_id: str
    location_id: str
    organization_id: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRecord:
    id: str
    organization_id: str
    name: str
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    search_text: str
    language: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherRecord:
    id: str
    organization_id: str
    code: str
    amount: int
    currency: str
    expires_at: datetime
    rma_order_id: str
    resolution_id: str
    redeemed_at: datetime | None
    redeemed_amount: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiClientRecord:
    id: str
    organization_id: str
    name: str
    secret_hash: str
    scopes: list[str] | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    tokens_valid_after: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RmaCustomStateRecord:
    id: str
    organization_id: str
    code: str
    names: dict[str, str]
    descriptions: dict[str, str]
    position: int
    processing_statuses: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEndpointRecord:
    id: str
    organization_id: str
    url: str
    event_types: list[str]
    enabled: bool
    description: str | None
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    cursor: int
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDeliveryRecord:
    id: str
    organization_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    event_position: int | None
    rma_order_id: str | None
    version: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    leased_until: datetime | None
    body: dict[str, Any] | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookAttemptRecord:
    id: str
    organization_id: str
    delivery_id: str
    attempted_at: datetime
    duration_ms: int
    http_status: int | None
    error: str | None
    response_body: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppUserRecord:
    id: str
    organization_id: str
    username: str
    username_key: str
    email: str
    password_hash: str
    role: str
    created_at: datetime
    customer_id: str | None
    active: bool
    tokens_valid_after: datetime | None
    kept_token_id: str | None


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _names(kind: type[Any]) -> tuple[str, ...]:
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


_BUILDERS: dict[type[Any], Callable[[Mapping[Any, Any]], Any]] = {}


def _builder(kind: type[R]) -> Callable[[Mapping[Any, Any]], R]:
    """Makes records of ``kind`` from rows by setting its slots directly: five times faster
    than the frozen dataclass's ``__init__`` (which sets each field through
    ``object.__setattr__``), for the hundreds of records a page makes."""
    found = _BUILDERS.get(kind)
    if found is None:
        setters = tuple((name, getattr(kind, name).__set__) for name in _names(kind))
        new = object.__new__

        def build(row: Mapping[Any, Any]) -> R:
            made = new(kind)
            for name, set_slot in setters:
                set_slot(made, row[name])
            return made

        found = _BUILDERS[kind] = build
    return found


def record(kind: type[R], row: Mapping[Any, Any]) -> R:
    """The record of a row (extra keys, such as a join's, are left out)."""
    return _builder(kind)(row)


def row_of(found: Any) -> dict[str, Any]:
    """A record's values by column name (for the database layer's row converters)."""
    return {name: getattr(found, name) for name in _names(type(found))}


@dataclass(frozen=True)
class RmaOrderVersion:
    """An RMA order as one of its versions was committed (a revision), or as it is now."""

    row: RmaOrderRecord
    lines: list[RmaOrderLineRecord]
    linked_orders: list[RmaLinkedOrderRecord]
    financial_resolutions: list[RmaFinancialResolutionRecord]


def records(kind: type[R], rows: Iterable[Mapping[Any, Any]]) -> list[R]:
    build = _builder(kind)
    return [build(row) for row in rows]
