"""The fields a compiled read plan answers from columns: for each, the columns it needs and
how its value is made from a row, exactly as the GraphQL type's own field makes it
(``RmaOrderType.from_row``, ``RmaOrderLine.from_row``). A field that is not here makes the
operation take strawberry's execution instead."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from rma_graphql.api.enums import member
from rma_graphql.domain import statuses as s
from rma_graphql.service.currency import to_major

Row = Mapping[Any, Any]
# A field's value from its object's row and, for a line, the RMA order's row.
Getter = Callable[[Row, Row | None], Any]


@dataclass(frozen=True)
class Leaf:
    columns: tuple[str, ...]
    get: Getter
    # Whether the answer depends on the one column's value only and repeats (an enum's):
    # completed once per value.
    by_value: bool = False
    # Whether the answer is the column's value as stored.
    plain: bool = False


def column(name: str) -> Leaf:
    return Leaf((name,), lambda row, parent: row[name], plain=True)


def enum_column(name: str, kind: type[Enum], *, optional: bool = False) -> Leaf:
    if optional:
        return Leaf((name,), lambda row, parent: member(kind, row[name]) if row[name] else None, True)
    return Leaf((name,), lambda row, parent: member(kind, row[name]), True)


def _retained(row: Row, parent: Row | None) -> float:
    return to_major(row["retained_amount_for_shipping"], row["currency"])


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
    "retainedAmountForShipping": Leaf(("retained_amount_for_shipping", "currency"), _retained),
    "meta": column("meta"),
    "version": column("version"),
    "createdAt": column("created_at"),
    "updatedAt": column("updated_at"),
    "fulfillmentRequestedAt": column("fulfillment_requested_at"),
    "tpAppId": column("tp_app_id"),
    "returnWindowOverrideReason": column("return_window_override_reason"),
}


def _price(row: Row, parent: Row | None) -> float | None:
    assert parent is not None
    return None if row["price"] is None else to_major(row["price"], parent["currency"])


def _listed(name: str) -> Leaf:
    return Leaf((name,), lambda row, parent: list(row[name] or []))


def _surplus(row: Row, parent: Row | None) -> int:
    return max(0, int(row["received_quantity"]) - int(row["quantity"]))


LINE_FIELDS: dict[str, Leaf] = {
    "id": column("id"),
    "label": column("label"),
    "sku": column("sku"),
    "reference": column("reference"),
    "quantity": column("quantity"),
    "reason": enum_column("reason", s.ReturnReason),
    "productState": enum_column("product_state", s.ProductState, optional=True),
    "lineState": enum_column("line_state", s.LineState),
    "price": Leaf(("price",), _price),
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
# The RMA order's columns its lines' fields read (the price's currency).
LINE_PARENT_COLUMNS: dict[str, tuple[str, ...]] = {"price": ("currency",)}
