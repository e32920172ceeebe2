"""SQLModel tables. Every table carries ``organization_id``.

Money is stored as integer minor units; statuses as their enum names; contacts and
free-form data as JSON.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from rma_graphql.db.account_tables import ApiClient as ApiClient
from rma_graphql.db.account_tables import AppUser as AppUser
from rma_graphql.db.account_tables import api_client as api_client
from rma_graphql.db.account_tables import app_user as app_user
from rma_graphql.db.account_tables import password_reset as password_reset
from rma_graphql.db.account_tables import rate_limit_counter as rate_limit_counter
from rma_graphql.db.account_tables import revoked_token as revoked_token
from rma_graphql.db.account_tables import server_secret as server_secret
from rma_graphql.db.bulk_tables import bulk_action_progress as bulk_action_progress
from rma_graphql.db.catalog_tables import Customer as Customer
from rma_graphql.db.catalog_tables import Product as Product
from rma_graphql.db.catalog_tables import SalesOrder as SalesOrder
from rma_graphql.db.catalog_tables import SalesOrderLine as SalesOrderLine
from rma_graphql.db.catalog_tables import Sku as Sku
from rma_graphql.db.catalog_tables import SkuStock as SkuStock
from rma_graphql.db.catalog_tables import customer as customer
from rma_graphql.db.catalog_tables import product as product
from rma_graphql.db.catalog_tables import sales_order as sales_order
from rma_graphql.db.catalog_tables import sales_order_line as sales_order_line
from rma_graphql.db.catalog_tables import sku as sku
from rma_graphql.db.catalog_tables import sku_stock as sku_stock
from rma_graphql.db.columns import ID_LENGTH, id_field, json_field, money_field, partial_index, time_field
from rma_graphql.db.custom_state_tables import rma_custom_state as rma_custom_state
from rma_graphql.db.idempotency_tables import idempotency_key as idempotency_key
from rma_graphql.db.notification_tables import notification_cursor as notification_cursor
from rma_graphql.db.notification_tables import notification_delivery as notification_delivery
from rma_graphql.db.notification_tables import notification_rule as notification_rule
from rma_graphql.db.notification_tables import notification_template as notification_template
from rma_graphql.db.search_tables import POSTGRESQL_ONLY_INDEXES as POSTGRESQL_ONLY_INDEXES
from rma_graphql.db.search_tables import RmaOrderSearchRow as RmaOrderSearchRow
from rma_graphql.db.search_tables import rma_order_search as rma_order_search
from rma_graphql.db.upload_tables import upload as upload
from rma_graphql.db.webhook_tables import webhook_attempt as webhook_attempt
from rma_graphql.db.webhook_tables import webhook_delivery as webhook_delivery
from rma_graphql.db.webhook_tables import webhook_endpoint as webhook_endpoint


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    id: str = id_field(primary_key=True)
    name: str = Field(max_length=200)
    # Return numbers start after it (they are issued by return_number_counter).
    last_return_number: int = Field(default=1000)
    # The position of the organization's newest event. Writers take it in their
    # transaction's last statements and hold the row lock until commit, so positions
    # follow commit order: once a reader has seen position P, nothing below P commits later.
    last_event_position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    allow_customer_sign_up: bool = True
    # What the organization's messages are in when a reader names no language (BCP 47).
    default_language: str = Field(
        default="en", sa_column=Column(String(35), nullable=False, server_default="en")
    )
    # Set on the organization that `serve` creates on an empty embedded database.
    demo: bool = False
    created_at: datetime = time_field()


class ReturnNumberCounter(SQLModel, table=True):
    """An organization's last return number issued: incremented by a create, whose lock on
    this row until it commits keeps the numbers gapless without holding the organization row
    (which every change's events take) for the whole create."""

    __tablename__ = "return_number_counter"

    organization_id: str = id_field(primary_key=True, foreign="organization.id")
    last_return_number: int


class Location(SQLModel, table=True):
    __tablename__ = "location"
    __table_args__ = (Index("ix_location_organization", "organization_id", "created_at"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    name: str = Field(max_length=200)
    type: str = Field(max_length=20)
    contact: dict[str, Any] | None = json_field()
    created_at: datetime = time_field()


class RmaConfiguration(SQLModel, table=True):
    __tablename__ = "rma_configuration"
    __table_args__ = (UniqueConstraint("location_id", name="uq_rma_configuration_location"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id", index=True)
    location_id: str = id_field(foreign="location.id")
    portal_is_active: bool
    auto_accept: bool = False
    accept_multi: bool = True
    needs_pictures: bool = False
    request_product_state: bool = False
    authorization_delay: int | None = None
    max_authorization_delay: int | None = None
    reason_lines: list[str] | None = json_field()
    expected_resolutions: list[str] | None = json_field()
    email_contact: str | None = Field(default=None, max_length=320)
    shop_url: str | None = Field(default=None, max_length=2048)
    domain: str | None = Field(default=None, max_length=255)
    custom_css: str | None = None
    tp_app_ids: list[str] | None = json_field()
    auto_generate_financial_resolution: bool = False
    auto_execute_financial_resolution: bool = False
    retained_amount_for_shipping: int = money_field(default=0)
    refund_shipping_on_partial_return: bool = False
    refund_shipping_on_complete_return: bool = False
    currency: str = Field(default="EUR", max_length=3)
    return_fee: int = money_field(default=0)
    # How long a voucher issued for a return of this location can be redeemed.
    voucher_validity_days: int = Field(
        default=365, sa_column=Column(Integer, nullable=False, server_default="365")
    )
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class RmaOrderRow(SQLModel, table=True):
    __tablename__ = "rma_order"
    __table_args__ = (
        UniqueConstraint("organization_id", "return_number", name="uq_rma_order_return_number"),
        # A missing tpAppId is stored as "" so that it counts as its own value.
        UniqueConstraint("organization_id", "tp_app_key", "external_id", name="uq_rma_order_external_id"),
        Index("ix_rma_order_created", "organization_id", "created_at", "id"),
        Index("ix_rma_order_updated", "organization_id", "updated_at", "id"),
        # A customer account's own list (of the RMA orders having one).
        partial_index(
            "ix_rma_order_customer", "organization_id", "customer_id", "created_at", having="customer_id"
        ),
        # The list filtered by one dimension, newest first: a rare value reads only its rows.
        Index("ix_rma_order_processing_created", "organization_id", "processing_status", "created_at", "id"),
        Index("ix_rma_order_delivery_created", "organization_id", "delivery_status", "created_at", "id"),
        Index("ix_rma_order_financial_created", "organization_id", "financial_status", "created_at", "id"),
        Index(
            "ix_rma_order_fulfillment_created", "organization_id", "fulfillment_status", "created_at", "id"
        ),
        Index("ix_rma_order_location_created", "organization_id", "location_id", "created_at", "id"),
        # The list by custom state (of the RMA orders in one).
        partial_index(
            "ix_rma_order_custom_state_created",
            "organization_id",
            "custom_state",
            "created_at",
            "id",
            having="custom_state",
        ),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    configuration_id: str = id_field(foreign="rma_configuration.id")
    location_id: str = id_field(foreign="location.id")
    return_number: int
    return_reference: str = Field(max_length=40)
    external_id: str | None = Field(default=None, max_length=255)
    external_reference: str | None = Field(default=None, max_length=255)
    tp_app_id: str | None = Field(default=None, max_length=255)
    tp_app_key: str = Field(default="", max_length=255)
    return_slip_url: str | None = Field(default=None, max_length=2048)
    currency: str = Field(max_length=3)
    apply_return_fee: bool = False
    return_fee: int = money_field(default=0)
    delivery_contact: dict[str, Any] = json_field(nullable=False)
    sender: dict[str, Any] = json_field(nullable=False)
    owner: dict[str, Any] | None = json_field()
    # The CUSTOMER user who created the RMA order and owns it; None when staff or a client did.
    customer_id: str | None = Field(default=None, max_length=ID_LENGTH)
    billing_contact: dict[str, Any] | None = json_field()
    received_at: datetime = time_field()
    issued_at: datetime = time_field()
    expected_resolution: str = Field(max_length=20)
    processing_status: str = Field(max_length=20)
    delivery_status: str = Field(max_length=30)
    financial_status: str = Field(max_length=30)
    fulfillment_status: str = Field(max_length=20)
    held_from: str | None = Field(default=None, max_length=20)
    anomaly_from: str | None = Field(default=None, max_length=20)
    comment: str | None = None
    auto_generate_financial_resolution: bool = False
    auto_execute_financial_resolution: bool = False
    retained_amount_for_shipping: int = money_field(default=0)
    meta: Any | None = json_field()
    version: int = Field(sa_column=Column(Integer, nullable=False))
    # The sequence of the RMA's newest event; the row's version check serialises writers.
    last_event_sequence: int = 0
    fulfillment_requested_at: datetime | None = time_field(nullable=True)
    # The return policy in force when the RMA order was created (see ``ReturnPolicy``).
    policy: dict[str, Any] | None = json_field()
    # Why staff accepted a return after the authorization delay, when they did.
    return_window_override_reason: str | None = None
    # The delivery status the latest carrier scan calls for, and that scan's date.
    scan_status: str | None = Field(default=None, max_length=30)
    scan_at: datetime | None = time_field(nullable=True)
    # What the returned orders paid (shipping, unit prices) and the shipping-refund settings,
    # fixed when the orders are linked (see ``RefundTerms``).
    refund_terms: dict[str, Any] | None = json_field()
    # The code of the organization's custom state it is in, if any (see ``RmaCustomState``).
    custom_state: str | None = Field(default=None, max_length=40)
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class RmaOrderLineRow(SQLModel, table=True):
    __tablename__ = "rma_order_line"
    __table_args__ = (
        Index("ix_rma_order_line_order", "rma_order_id", "position"),
        Index("ix_rma_order_line_order_line", "order_line_id"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    position: int
    label: str | None = Field(default=None, max_length=255)
    sku: str = Field(max_length=255)
    reference: str | None = Field(default=None, max_length=255)
    quantity: int
    reason: str = Field(max_length=30)
    product_state: str | None = Field(default=None, max_length=30)
    line_state: str = Field(max_length=30)
    price: int | None = money_field(nullable=True)
    serial_number: str | None = Field(default=None, max_length=255)
    comment: str | None = None
    # The sales order line the units come from, when the return names one.
    order_line_id: str | None = Field(default=None, max_length=ID_LENGTH)
    pictures: list[str] | None = json_field()
    # Units received (surplus included), inspected, accepted and restocked; kept with the
    # inspections that add them up (``rma_line_inspection``).
    received_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    received_serial_numbers: list[str] | None = json_field()
    inspected_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    accepted_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    restocked_quantity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class RmaLinkedOrderRow(SQLModel, table=True):
    __tablename__ = "rma_linked_order"
    __table_args__ = (
        Index("ix_rma_linked_order_order", "rma_order_id", "position"),
        Index("ix_rma_linked_order_target", "organization_id", "order_id"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    position: int
    order_id: str = Field(max_length=255)
    external_reference: str | None = Field(default=None, max_length=255)


class RmaFinancialResolutionRow(SQLModel, table=True):
    __tablename__ = "rma_financial_resolution"
    __table_args__ = (Index("ix_rma_financial_resolution_order", "rma_order_id", "created_at"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    type: str = Field(max_length=20)
    amount: int = money_field()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=20)
    created_at: datetime = time_field()
    executed_at: datetime | None = time_field(nullable=True)
    reference: str | None = Field(default=None, max_length=255)
    failure_reason: str | None = None
    provider: str = Field(
        default="manual", sa_column=Column(String(40), nullable=False, server_default="manual")
    )


class RmaOrderEventRow(SQLModel, table=True):
    __tablename__ = "rma_order_event"
    __table_args__ = (
        UniqueConstraint("rma_order_id", "sequence", name="uq_rma_order_event_sequence"),
        UniqueConstraint("organization_id", "position", name="uq_rma_order_event_position"),
    )

    id: str = id_field(primary_key=True)
    # Its RMA order's: it goes with the RMA order (no key of its own to look up per insert).
    organization_id: str = id_field()
    rma_order_id: str = id_field(foreign="rma_order.id")
    # Organization-wide, in commit order (see ``Organization.last_event_position``).
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    sequence: int
    type: str = Field(max_length=40)
    changes: list[dict[str, Any]] = json_field(nullable=False)
    actor: dict[str, Any] = json_field(nullable=False)
    comment: str | None = None
    # Set on COMMENT_ADDED: who may see the event.
    visibility: str | None = Field(default=None, max_length=20)
    # What an event records beyond statuses (CORRECTED: each field before and after).
    data: dict[str, Any] | None = json_field()
    # The RMA order's owning customer, copied so that a customer's feed filters on one table.
    customer_id: str | None = Field(default=None, max_length=ID_LENGTH)
    occurred_at: datetime = time_field()
    version: int


class RmaOrderCommentRow(SQLModel, table=True):
    __tablename__ = "rma_order_comment"
    __table_args__ = (Index("ix_rma_order_comment_order", "rma_order_id", "sequence"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    # The sequence of the COMMENT_ADDED event that recorded it: orders comments exactly.
    sequence: int
    text: str
    visibility: str = Field(max_length=20)
    author: dict[str, Any] = json_field(nullable=False)
    created_at: datetime = time_field()


class RmaShipmentRow(SQLModel, table=True):
    """A return shipment: the parcel's carrier and tracking."""

    __tablename__ = "rma_shipment"
    __table_args__ = (Index("ix_rma_shipment_order", "rma_order_id", "sequence"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    # The sequence of the SHIPMENT_CREATED event: the RMA order has it from that version on.
    sequence: int
    reference: str = Field(max_length=255)
    carrier_name: str | None = Field(default=None, max_length=255)
    tracking: str | None = Field(default=None, max_length=255)
    tracking_url: str | None = Field(default=None, max_length=2048)
    label_url: str | None = Field(default=None, max_length=2048)
    created_at: datetime = time_field()


class RmaShipmentEventRow(SQLModel, table=True):
    """One carrier scan of a return shipment, kept whether or not it moved the RMA."""

    __tablename__ = "rma_shipment_event"
    __table_args__ = (
        # A carrier that sends a scan twice records it once.
        UniqueConstraint("shipment_id", "event", "date", name="uq_rma_shipment_event_scan"),
        Index("ix_rma_shipment_event_order", "rma_order_id", "sequence"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    shipment_id: str = id_field(foreign="rma_shipment.id")
    # The sequence of the SHIPMENT_SCANNED event that recorded it.
    sequence: int
    event: str = Field(max_length=30)
    date: datetime = time_field()
    message: str | None = None
    location: str | None = Field(default=None, max_length=255)
    created_at: datetime = time_field()


class RmaLineInspectionRow(SQLModel, table=True):
    """One inspection of received units of a line: by whom, how many, and what becomes of them."""

    __tablename__ = "rma_line_inspection"
    __table_args__ = (Index("ix_rma_line_inspection_order", "rma_order_id", "sequence"),)

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    rma_order_id: str = id_field(foreign="rma_order.id")
    line_id: str = id_field(foreign="rma_order_line.id")
    # The sequence of the LINE_INSPECTED event that recorded it.
    sequence: int
    quantity: int
    product_state: str | None = Field(default=None, max_length=30)
    result: str = Field(max_length=20)
    disposition: str = Field(max_length=30)
    notes: str | None = None
    inspector: dict[str, Any] = json_field(nullable=False)
    created_at: datetime = time_field()


class InventoryMovementRow(SQLModel, table=True):
    """A change to a SKU's stock at a location, with what caused it; stock is their sum."""

    __tablename__ = "inventory_movement"
    __table_args__ = (
        Index("ix_inventory_movement_sku", "sku_id", "location_id", "created_at"),
        # A restocking inspection moves stock exactly once.
        UniqueConstraint("inspection_id", name="uq_inventory_movement_inspection"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    sku_id: str = id_field(foreign="sku.id")
    location_id: str = id_field(foreign="location.id")
    # Units in (positive) or out (negative).
    quantity: int
    reason: str = Field(max_length=30)
    rma_order_id: str | None = Field(
        default=None, sa_column=Column(String(ID_LENGTH), ForeignKey("rma_order.id"), nullable=True)
    )
    inspection_id: str | None = Field(
        default=None,
        sa_column=Column(String(ID_LENGTH), ForeignKey("rma_line_inspection.id"), nullable=True),
    )
    sales_order_id: str | None = Field(
        default=None, sa_column=Column(String(ID_LENGTH), ForeignKey("sales_order.id"), nullable=True)
    )
    created_at: datetime = time_field()


class VoucherRow(SQLModel, table=True):
    """A voucher issued by a financial resolution: redeemable once, before it expires."""

    __tablename__ = "voucher"
    __table_args__ = (
        UniqueConstraint("code", name="uq_voucher_code"),
        # A resolution issues at most one voucher, however often its execution is attempted.
        UniqueConstraint("resolution_id", name="uq_voucher_resolution"),
        Index("ix_voucher_order", "rma_order_id"),
    )

    id: str = id_field(primary_key=True)
    organization_id: str = id_field(foreign="organization.id")
    code: str = Field(max_length=40)
    amount: int = money_field()
    currency: str = Field(max_length=3)
    expires_at: datetime = time_field()
    rma_order_id: str = id_field(foreign="rma_order.id")
    # No foreign key: the provider issues the voucher before the resolution's new state is written.
    resolution_id: str = id_field()
    redeemed_at: datetime | None = time_field(nullable=True)
    redeemed_amount: int | None = money_field(nullable=True)
    created_at: datetime = time_field()


class HistoryMessage(SQLModel, table=True):
    """An organization's own text of an event type's history message, in one language."""

    __tablename__ = "history_message"

    organization_id: str = id_field(primary_key=True, foreign="organization.id")
    event_type: str = Field(sa_column=Column(String(40), primary_key=True, nullable=False))
    language: str = Field(sa_column=Column(String(35), primary_key=True, nullable=False))
    text: str = Field(max_length=500)


class RmaOrderRevisionRow(SQLModel, table=True):
    """The RMA order as of each version: its row and its children, as JSON."""

    __tablename__ = "rma_order_revision"

    rma_order_id: str = id_field(primary_key=True, foreign="rma_order.id")
    version: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    # Its RMA order's: it goes with the RMA order (no key of its own to look up per insert).
    organization_id: str = id_field()
    # JSON text, not jsonb: written once, read whole, never queried inside (migration 0021).
    state: dict[str, Any] = Field(sa_column=Column(JSON(), nullable=False))


organization: Table = Organization.__table__  # type: ignore[attr-defined]  # set by SQLModel
return_number_counter: Table = ReturnNumberCounter.__table__  # type: ignore[attr-defined]  # set by SQLModel
location: Table = Location.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_configuration: Table = RmaConfiguration.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_order: Table = RmaOrderRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_order_line: Table = RmaOrderLineRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_linked_order: Table = RmaLinkedOrderRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_financial_resolution: Table = RmaFinancialResolutionRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_order_event: Table = RmaOrderEventRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_order_comment: Table = RmaOrderCommentRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_shipment: Table = RmaShipmentRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_shipment_event: Table = RmaShipmentEventRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_line_inspection: Table = RmaLineInspectionRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
inventory_movement: Table = InventoryMovementRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
history_message: Table = HistoryMessage.__table__  # type: ignore[attr-defined]  # set by SQLModel
voucher: Table = VoucherRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
rma_order_revision: Table = RmaOrderRevisionRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
metadata = SQLModel.metadata
