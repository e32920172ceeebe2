"""GraphQL inputs and their conversion to service commands, with field-path validation."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from rma_graphql.api.enums import (
    LocationTypeEnum,
    RmaOrderDeliveryStatus,
    RmaOrderExpectedResolution,
    RmaOrderFinancialStatus,
    RmaOrderFulfillmentStatus,
    RmaOrderProcessingStatus,
    RmaOrderProductState,
    RmaOrderReturnReason,
)
from rma_graphql.api.ids import parse_uuid as parse_uuid  # where the API takes ids from
from rma_graphql.domain.errors import BadUserInputError, CommandFieldError
from rma_graphql.service.configurations import camel_case
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.return_requests import LineCommand
from rma_graphql.service.rma_order_create import CreateRmaOrder

SHORT_TEXT = 255
LONG_TEXT = 5000
MAX_LINES = 500
MAX_QUANTITY = 1_000_000


@contextmanager
def command_fields_under(argument: str) -> Iterator[None]:
    """The domain names a refused value by the command's field (``amount``); a client reads
    it at its GraphQL path, under the argument the command came from (``input.amount``)."""
    try:
        yield
    except CommandFieldError as error:
        error.field = f"{argument}.{error.field}"
        raise


def text(value: str | None, field: str, limit: int = SHORT_TEXT, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise BadUserInputError("A value is required.", field)
        return None
    if required and not value.strip():
        raise BadUserInputError("A value is required.", field)
    if len(value) > limit:
        raise BadUserInputError(f"At most {limit} characters are allowed.", field)
    return value


def _utc(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise BadUserInputError("A time needs a UTC offset.", field)
    return value


@strawberry.input
class RmaContactInput:
    fullname: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    address: str | None = None
    address_complement: str | None = None
    city: str | None = None
    zipcode: str | None = None
    country: str | None = None
    language: str | None = strawberry.field(default=None, description="What the contact reads (BCP 47).")

    def to_json(self, path: str) -> dict[str, Any]:
        text(self.fullname, f"{path}.fullname", required=True)
        data = {
            "fullname": self.fullname,
            "email": self.email,
            "phone": self.phone,
            "company": self.company,
            "address": self.address,
            "addressComplement": self.address_complement,
            "city": self.city,
            "zipcode": self.zipcode,
            "country": self.country,
        }
        for key, value in data.items():
            text(value, f"{path}.{key}")
        if self.language is not None:
            data["language"] = check_language(self.language, f"{path}.language")
        return data


MAX_PICTURES = 20


def _pictures(pictures: list[str] | None, path: str) -> list[str]:
    if pictures is None:
        return []
    if len(pictures) > MAX_PICTURES:
        raise BadUserInputError(f"A line has at most {MAX_PICTURES} pictures.", path)
    for i, url in enumerate(pictures):
        text(url, f"{path}[{i}]", 2048, required=True)
        if not url.startswith(("https://", "http://")):
            raise BadUserInputError("A picture is an http or https URL.", f"{path}[{i}]")
    return list(pictures)


@strawberry.input
class RmaOrderLineInput:
    quantity: int
    reason: RmaOrderReturnReason
    sku: str | None = strawberry.field(
        default=None, description="Required unless orderLineId is given; then it must match that line's."
    )
    order_line_id: str | None = strawberry.field(
        default=None,
        description="The order line the units come from: sku, label and price default to that line's.",
    )
    pictures: list[str] | None = strawberry.field(
        default=None, description="Picture URLs of the returned item (required by needsPictures)."
    )
    label: str | None = None
    reference: str | None = None
    product_state: RmaOrderProductState | None = None
    price: float | None = None
    serial_number: str | None = None
    comment: str | None = None

    def to_command(self, path: str) -> LineCommand:
        text(self.sku, f"{path}.sku", required=self.order_line_id is None)
        if self.quantity <= 0:
            raise BadUserInputError("The quantity must be at least 1.", f"{path}.quantity")
        if self.quantity > MAX_QUANTITY:
            raise BadUserInputError(f"The quantity must be at most {MAX_QUANTITY}.", f"{path}.quantity")
        if self.price is not None and self.price < 0:
            raise BadUserInputError("A price cannot be negative.", f"{path}.price")
        return LineCommand(
            sku=self.sku,
            order_line_id=parse_uuid(self.order_line_id, f"{path}.orderLineId")
            if self.order_line_id is not None
            else None,
            pictures=_pictures(self.pictures, f"{path}.pictures"),
            quantity=self.quantity,
            reason=self.reason,
            label=text(self.label, f"{path}.label"),
            reference=text(self.reference, f"{path}.reference"),
            product_state=self.product_state,
            price=self.price,
            serial_number=text(self.serial_number, f"{path}.serialNumber"),
            comment=text(self.comment, f"{path}.comment", LONG_TEXT),
        )


def _lines(lines: list[RmaOrderLineInput], path: str) -> list[LineCommand]:
    if not lines:
        raise BadUserInputError("An RMA order needs at least one line.", path)
    if len(lines) > MAX_LINES:
        raise BadUserInputError(f"An RMA order has at most {MAX_LINES} lines.", path)
    return [line.to_command(f"{path}[{i}]") for i, line in enumerate(lines)]


@strawberry.input
class RmaOrderLinkedOrderInput:
    order_id: str
    external_reference: str | None = None


def _linked(orders: list[RmaOrderLinkedOrderInput] | None, path: str) -> list[tuple[str, str | None]]:
    result = []
    for i, order in enumerate(orders or []):
        text(order.order_id, f"{path}[{i}].orderId", required=True)
        text(order.external_reference, f"{path}[{i}].externalReference")
        result.append((order.order_id, order.external_reference))
    return result


def _reason(value: str | None, field: str) -> str | None:
    return text(value, field, LONG_TEXT, required=True) if value is not None else None


def _non_negative(value: float | None, field: str) -> float | None:
    if value is not None and value < 0:
        raise BadUserInputError("The amount cannot be negative.", field)
    return value


@strawberry.input
class RmaOrderInput:
    expected_resolution: RmaOrderExpectedResolution
    lines: list[RmaOrderLineInput]
    sender: RmaContactInput
    delivery_contact: RmaContactInput
    id: strawberry.ID | None = None
    location_id: str | None = None
    owner: RmaContactInput | None = None
    billing_contact: RmaContactInput | None = None
    external_id: str | None = None
    external_reference: str | None = None
    tp_app_id: str | None = None
    comment: str | None = None
    meta: JSON | None = None
    currency: str | None = None
    apply_return_fee: bool = False
    auto_generate_financial_resolution: bool | None = None
    auto_execute_financial_resolution: bool | None = None
    retained_amount_for_shipping: float | None = None
    accept: bool = False
    linked_orders: list[RmaOrderLinkedOrderInput] | None = None
    received_at: datetime | None = None
    issued_at: datetime | None = None
    return_slip_url: str | None = None
    return_window_override_reason: str | None = strawberry.field(
        default=None,
        description="Staff only: why the return is taken after the authorization delay "
        "(allowed up to maxAuthorizationDelay).",
    )

    def to_command(self) -> CreateRmaOrder:
        p = "input"
        return CreateRmaOrder(
            id=parse_uuid(self.id, f"{p}.id") if self.id is not None else None,
            location_id=parse_uuid(self.location_id, f"{p}.locationId") if self.location_id else None,
            expected_resolution=self.expected_resolution,
            lines=_lines(self.lines, f"{p}.lines"),
            sender=self.sender.to_json(f"{p}.sender"),
            delivery_contact=self.delivery_contact.to_json(f"{p}.deliveryContact"),
            owner=self.owner.to_json(f"{p}.owner") if self.owner else None,
            billing_contact=self.billing_contact.to_json(f"{p}.billingContact")
            if self.billing_contact
            else None,
            external_id=text(self.external_id, f"{p}.externalId"),
            external_reference=text(self.external_reference, f"{p}.externalReference"),
            tp_app_id=text(self.tp_app_id, f"{p}.tpAppId"),
            comment=text(self.comment, f"{p}.comment", LONG_TEXT),
            meta=self.meta,
            currency=self.currency,
            apply_return_fee=self.apply_return_fee,
            auto_generate_financial_resolution=self.auto_generate_financial_resolution,
            auto_execute_financial_resolution=self.auto_execute_financial_resolution,
            retained_amount_for_shipping=_non_negative(
                self.retained_amount_for_shipping, f"{p}.retainedAmountForShipping"
            ),
            accept=self.accept,
            linked_orders=_linked(self.linked_orders, f"{p}.linkedOrders"),
            received_at=_utc(self.received_at, f"{p}.receivedAt"),
            issued_at=_utc(self.issued_at, f"{p}.issuedAt"),
            return_slip_url=text(self.return_slip_url, f"{p}.returnSlipUrl", 2048),
            return_window_override_reason=_reason(
                self.return_window_override_reason, f"{p}.returnWindowOverrideReason"
            ),
        )


# The fields an update may leave out but not set to null.
_NOT_NULL = {
    "expected_resolution": "expectedResolution",
    "lines": "lines",
    "sender": "sender",
    "delivery_contact": "deliveryContact",
    "apply_return_fee": "applyReturnFee",
    "auto_generate_financial_resolution": "autoGenerateFinancialResolution",
    "auto_execute_financial_resolution": "autoExecuteFinancialResolution",
    "retained_amount_for_shipping": "retainedAmountForShipping",
    "received_at": "receivedAt",
}


@strawberry.input
class RmaOrderUpdateInput:
    expected_resolution: RmaOrderExpectedResolution | None = strawberry.UNSET
    lines: list[RmaOrderLineInput] | None = strawberry.UNSET
    sender: RmaContactInput | None = strawberry.UNSET
    delivery_contact: RmaContactInput | None = strawberry.UNSET
    owner: RmaContactInput | None = strawberry.UNSET
    billing_contact: RmaContactInput | None = strawberry.UNSET
    external_id: str | None = strawberry.UNSET
    external_reference: str | None = strawberry.UNSET
    comment: str | None = strawberry.UNSET
    meta: JSON | None = strawberry.UNSET
    apply_return_fee: bool | None = strawberry.UNSET
    auto_generate_financial_resolution: bool | None = strawberry.UNSET
    auto_execute_financial_resolution: bool | None = strawberry.UNSET
    retained_amount_for_shipping: float | None = strawberry.UNSET
    linked_orders: list[RmaOrderLinkedOrderInput] | None = strawberry.UNSET
    received_at: datetime | None = strawberry.UNSET
    return_slip_url: str | None = strawberry.UNSET
    return_window_override_reason: str | None = strawberry.UNSET

    def to_changes(self) -> dict[str, Any]:
        """Only the fields the caller gave; a null clears a nullable field (and is refused
        for the others)."""
        p = "input"
        changes: dict[str, Any] = {}
        for name, camel in _NOT_NULL.items():
            if getattr(self, name) is None:
                raise BadUserInputError("This field cannot be null.", f"{p}.{camel}")
        if self.expected_resolution is not strawberry.UNSET:
            changes["expected_resolution"] = self.expected_resolution
        if self.lines is not strawberry.UNSET and self.lines is not None:
            changes["lines"] = _lines(self.lines, f"{p}.lines")
        for name, camel in (
            ("sender", "sender"),
            ("delivery_contact", "deliveryContact"),
            ("owner", "owner"),
            ("billing_contact", "billingContact"),
        ):
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                changes[name] = value.to_json(f"{p}.{camel}") if value is not None else None
        for name, camel, limit in (
            ("external_id", "externalId", SHORT_TEXT),
            ("external_reference", "externalReference", SHORT_TEXT),
            ("comment", "comment", LONG_TEXT),
            ("return_slip_url", "returnSlipUrl", 2048),
        ):
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                changes[name] = text(value, f"{p}.{camel}", limit)
        for name in (
            "apply_return_fee",
            "auto_generate_financial_resolution",
            "auto_execute_financial_resolution",
            "meta",
        ):
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                changes[name] = value
        if self.retained_amount_for_shipping is not strawberry.UNSET:
            changes["retained_amount_for_shipping"] = _non_negative(
                self.retained_amount_for_shipping, f"{p}.retainedAmountForShipping"
            )
        if self.linked_orders is not strawberry.UNSET:
            changes["linked_orders"] = _linked(self.linked_orders, f"{p}.linkedOrders")
        if self.received_at is not strawberry.UNSET:
            changes["received_at"] = _utc(self.received_at, f"{p}.receivedAt")
        if self.return_window_override_reason is not strawberry.UNSET:
            changes["return_window_override_reason"] = _reason(
                self.return_window_override_reason, f"{p}.returnWindowOverrideReason"
            )
        return changes


@strawberry.input
class RmaOrderByExternalIdInput:
    external_id: str
    tp_app_id: str | None = None


@strawberry.input
class RmaOrderFilterInput:
    processing_status: list[RmaOrderProcessingStatus] | None = None
    delivery_status: list[RmaOrderDeliveryStatus] | None = None
    financial_status: list[RmaOrderFinancialStatus] | None = None
    fulfillment_status: list[RmaOrderFulfillmentStatus] | None = None
    expected_resolution: list[RmaOrderExpectedResolution] | None = None
    custom_state: list[str] | None = strawberry.field(default=None, description="Custom state codes.")
    location_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None
    include_deleted: bool = False


@strawberry.input
class LocationInput:
    name: str
    type: LocationTypeEnum
    contact: RmaContactInput | None = None


@strawberry.input(description="What to change on a location; fields left out keep their value.")
class LocationUpdateInput:
    name: str | None = strawberry.UNSET
    contact: RmaContactInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Who receives returns there and where: the ship-to address of return slips. "
        "null removes it.",
    )

    def to_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.name is not strawberry.UNSET:
            values["name"] = text(self.name, "input.name", 200, required=True)
        if self.contact is not strawberry.UNSET:
            values["contact"] = self.contact.to_json("input.contact") if self.contact else None
        return values


@strawberry.input
class RmaConfigurationCreateInput:
    location_id: str
    portal_is_active: bool
    auto_accept: bool = False
    accept_multi: bool = True
    needs_pictures: bool = False
    request_product_state: bool = False
    authorization_delay: int | None = None
    max_authorization_delay: int | None = None
    reason_lines: list[RmaOrderReturnReason] | None = None
    expected_resolutions: list[RmaOrderExpectedResolution] | None = None
    email_contact: str | None = None
    shop_url: str | None = None
    domain: str | None = None
    custom_css: str | None = None
    tp_app_ids: list[str] | None = None
    auto_generate_financial_resolution: bool = False
    auto_execute_financial_resolution: bool = False
    retained_amount_for_shipping: float = 0
    refund_shipping_on_partial_return: bool = False
    refund_shipping_on_complete_return: bool = False
    currency: str = "EUR"
    return_fee: float = 0
    voucher_validity_days: int = strawberry.field(
        default=365, description="How many days a voucher issued for a return stays redeemable (1-3650)."
    )


@strawberry.input
class RmaConfigurationUpdateInput:
    portal_is_active: bool | None = strawberry.UNSET
    auto_accept: bool | None = strawberry.UNSET
    accept_multi: bool | None = strawberry.UNSET
    needs_pictures: bool | None = strawberry.UNSET
    request_product_state: bool | None = strawberry.UNSET
    authorization_delay: int | None = strawberry.UNSET
    max_authorization_delay: int | None = strawberry.UNSET
    reason_lines: list[RmaOrderReturnReason] | None = strawberry.UNSET
    expected_resolutions: list[RmaOrderExpectedResolution] | None = strawberry.UNSET
    email_contact: str | None = strawberry.UNSET
    shop_url: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    custom_css: str | None = strawberry.UNSET
    tp_app_ids: list[str] | None = strawberry.UNSET
    auto_generate_financial_resolution: bool | None = strawberry.UNSET
    auto_execute_financial_resolution: bool | None = strawberry.UNSET
    retained_amount_for_shipping: float | None = strawberry.UNSET
    refund_shipping_on_partial_return: bool | None = strawberry.UNSET
    refund_shipping_on_complete_return: bool | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    return_fee: float | None = strawberry.UNSET
    voucher_validity_days: int | None = strawberry.UNSET


_NON_NULL_CONFIGURATION = {
    "portal_is_active",
    "auto_accept",
    "accept_multi",
    "needs_pictures",
    "request_product_state",
    "auto_generate_financial_resolution",
    "auto_execute_financial_resolution",
    "retained_amount_for_shipping",
    "refund_shipping_on_partial_return",
    "refund_shipping_on_complete_return",
    "currency",
    "return_fee",
    "voucher_validity_days",
}


def configuration_values(data: object, *, partial: bool) -> dict[str, Any]:
    """The given configuration fields as column values (major-unit amounts still floats)."""
    values: dict[str, Any] = {}
    for name, value in vars(data).items():
        if value is strawberry.UNSET:
            continue
        path = f"input.{camel_case(name)}"
        if value is None and partial and name in _NON_NULL_CONFIGURATION:
            raise BadUserInputError("This field cannot be null.", path)
        if name in ("authorization_delay", "max_authorization_delay") and value is not None and value < 0:
            raise BadUserInputError("A delay in days cannot be negative.", path)
        if name in ("retained_amount_for_shipping", "return_fee"):
            _non_negative(value, path)
        if name == "voucher_validity_days" and value is not None and not 1 <= value <= 3650:
            raise BadUserInputError("A voucher is valid for 1 to 3650 days.", path)
        if name in ("email_contact", "domain"):
            text(value, path)
        if name in ("shop_url",):
            text(value, path, 2048)
        if name == "custom_css":
            text(value, path, 100_000)
        if name in ("reason_lines", "expected_resolutions") and value is not None:
            value = [item.value for item in value]
        if name == "location_id":
            value = parse_uuid(value, path)
        values[name] = value
    return values
