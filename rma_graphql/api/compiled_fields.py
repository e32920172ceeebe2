"""The fields a compiled read plan answers from columns: for each, the columns it needs and
how its value is made from a row, exactly as the GraphQL type's own field makes it
(``RmaOrderType.from_row``, ``RmaOrderLine.from_row``,
``RmaFinancialResolutionRequest.from_row``, ``RmaShipment.from_rows``). A field that is not here makes the
operation take strawberry's execution instead."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from rma_graphql.api.enums import member
from rma_graphql.api.types import ADDRESS_KEYS
from rma_graphql.domain import statuses as s
from rma_graphql.service.currency import to_major

Row = Mapping[Any, Any]


@dataclass(frozen=True)
class Leaf:
    """A field's value: the stored value of its one column (``compute`` None), or
    ``compute`` of the values of ``columns`` and then of the parent's ``parent_columns``
    (a line's price: the RMA order's currency)."""

    columns: tuple[str, ...]
    compute: Callable[..., Any] | None = None
    parent_columns: tuple[str, ...] = ()
    # Whether the answer depends on its one column's value only and repeats (an enum's):
    # completed once per value.
    by_value: bool = False


def column(name: str) -> Leaf:
    return Leaf((name,))


def enum_column(name: str, kind: type[Enum], *, optional: bool = False) -> Leaf:
    if optional:
        return Leaf((name,), lambda value: member(kind, value) if value else None, by_value=True)
    return Leaf((name,), lambda value: member(kind, value), by_value=True)


def _listed(name: str) -> Leaf:
    return Leaf((name,), lambda value: list(value or []))


RMA_ORDER_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "configurationId": column("configuration_id"),
    "externalId": column("external_id"),
    "externalReference": column("external_reference"),
    "returnNumber": column("return_number"),
    "returnReference": column("return_reference"),
    "currency": column("currency"),
    "applyReturnFee": column("apply_return_fee"),
    "receivedAt": column("received_at"),
    "issuedAt": column("issued_at"),
    "expectedResolution": enum_column("expected_resolution", s.ExpectedResolution),
    "processingStatus": enum_column("processing_status", s.ProcessingStatus),
    "deliveryStatus": enum_column("delivery_status", s.DeliveryStatus),
    "financialStatus": enum_column("financial_status", s.FinancialStatus),
    "fulfillmentStatus": enum_column("fulfillment_status", s.FulfillmentStatus),
    "comment": column("comment"),
    "autoGenerateFinancialResolution": column("auto_generate_financial_resolution"),
    "autoExecuteFinancialResolution": column("auto_execute_financial_resolution"),
    "retainedAmountForShipping": Leaf(("retained_amount_for_shipping", "currency"), to_major),
    "meta": column("meta"),
    "version": column("version"),
    "createdAt": column("created_at"),
    "updatedAt": column("updated_at"),
    "fulfillmentRequestedAt": column("fulfillment_requested_at"),
    "tpAppId": column("tp_app_id"),
    "returnWindowOverrideReason": column("return_window_override_reason"),
}


def _price(price: int | None, currency: str) -> float | None:
    return None if price is None else to_major(price, currency)


def _surplus(received: int, quantity: int) -> int:
    return max(0, received - quantity)


LINE_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "label": column("label"),
    "sku": column("sku"),
    "reference": column("reference"),
    "quantity": column("quantity"),
    "reason": enum_column("reason", s.ReturnReason),
    "productState": enum_column("product_state", s.ProductState, optional=True),
    "lineState": enum_column("line_state", s.LineState),
    "price": Leaf(("price",), _price, parent_columns=("currency",)),
    "serialNumber": column("serial_number"),
    "comment": column("comment"),
    "orderLineId": column("order_line_id"),
    "pictures": _listed("pictures"),
    "receivedQuantity": column("received_quantity"),
    "surplusQuantity": Leaf(("received_quantity", "quantity"), _surplus),
    "receivedSerialNumbers": _listed("received_serial_numbers"),
    "inspectedQuantity": column("inspected_quantity"),
    "acceptedQuantity": column("accepted_quantity"),
    "restockedQuantity": column("restocked_quantity"),
}

LINKED_ORDER_FIELDS: dict[str, Leaf] = {
    "orderId": column("order_id"),
    "externalReference": column("external_reference"),
}

FINANCIAL_RESOLUTION_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "type": enum_column("type", s.FinancialResolutionType),
    "amount": Leaf(("amount", "currency"), to_major),
    "currency": column("currency"),
    "status": enum_column("status", s.FinancialResolutionStatus),
    "createdAt": column("created_at"),
    "executedAt": column("executed_at"),
    "reference": column("reference"),
    "failureReason": column("failure_reason"),
    "provider": column("provider"),
}

# A shipment's own columns (its scans, latest scan and state run per field).
SHIPMENT_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "rmaOrderId": column("rma_order_id"),
    "reference": column("reference"),
    "tracking": column("tracking"),
    "trackingUrl": column("tracking_url"),
    "labelUrl": column("label_url"),
    "carrierName": column("carrier_name"),
    "createdAt": column("created_at"),
}

# A location's own columns (its contact is a JSON column: see the plan's embedded objects).
LOCATION_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "name": column("name"),
    "type": enum_column("type", s.LocationType),
}

ORGANIZATION_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "name": column("name"),
    "allowCustomerSignUp": column("allow_customer_sign_up"),
    "defaultLanguage": column("default_language"),
}

# A contact's fields, read from the dictionary ``contact_row`` makes of its JSON column.
_CONTACT_KEYS = ("fullname", "email", "phone", "company", "language", *ADDRESS_KEYS.values())
CONTACT_FIELDS: dict[str, Leaf] = {key: column(key) for key in _CONTACT_KEYS}


def contact_row(data: Any) -> dict[str, Any] | None:
    """A contact's JSON as ``CONTACT_FIELDS`` read it (``RmaContact.from_json``: a missing key
    is null); None when it is no contact (it has no ``fullname``)."""
    if not isinstance(data, Mapping) or "fullname" not in data:
        return None
    return {key: data.get(key) for key in _CONTACT_KEYS}


COMMENT_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "text": column("text"),
    "visibility": enum_column("visibility", s.CommentVisibility),
    "createdAt": column("created_at"),
}

# Who did something, read from the dictionary ``actor_row`` makes of its JSON column.
ACTOR_FIELDS: dict[str, Leaf] = {
    "type": enum_column("type", s.ActorType),
    "id": column("id"),
    "name": column("name"),
}


def actor_row(data: Any) -> dict[str, Any] | None:
    """An actor's JSON as ``ACTOR_FIELDS`` read it (``RmaActor.from_json``); None when it is
    no actor (it has no ``type``)."""
    if not isinstance(data, Mapping) or "type" not in data:
        return None
    return {"type": data["type"], "id": data.get("id"), "name": data.get("name")}
