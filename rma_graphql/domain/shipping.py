"""Carrier scans of return shipments, and the delivery status each one calls for."""

from collections.abc import Mapping
from enum import StrEnum

from rma_graphql.domain.statuses import DeliveryStatus


class ShippingEvent(StrEnum):
    NEW = "NEW"
    INFO_RECEIVED = "INFO_RECEIVED"
    PENDING = "PENDING"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    ATTEMPT_FAIL = "ATTEMPT_FAIL"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    DELIVERED_TO_SENDER = "DELIVERED_TO_SENDER"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"
    EXPIRED = "EXPIRED"


# The delivery status each carrier scan puts the RMA in (through the delivery machine).
SCAN_DELIVERY_STATUS: Mapping[ShippingEvent, DeliveryStatus] = {
    ShippingEvent.NEW: DeliveryStatus.PENDING,
    ShippingEvent.PENDING: DeliveryStatus.PENDING,
    ShippingEvent.INFO_RECEIVED: DeliveryStatus.HANDLED,
    ShippingEvent.IN_TRANSIT: DeliveryStatus.DELIVERING,
    ShippingEvent.OUT_FOR_DELIVERY: DeliveryStatus.DELIVERING,
    ShippingEvent.ATTEMPT_FAIL: DeliveryStatus.DELIVERING,
    ShippingEvent.AVAILABLE_FOR_PICKUP: DeliveryStatus.DELIVERING,
    ShippingEvent.DELIVERED: DeliveryStatus.DELIVERED,
    ShippingEvent.DELIVERED_TO_SENDER: DeliveryStatus.DELIVERED_TO_SENDER,
    ShippingEvent.RETURNED_TO_SENDER: DeliveryStatus.DELIVERED_TO_SENDER,
    ShippingEvent.EXCEPTION: DeliveryStatus.ERROR,
    ShippingEvent.EXPIRED: DeliveryStatus.ERROR,
}
