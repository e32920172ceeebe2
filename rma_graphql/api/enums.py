"""GraphQL enums, named as the public contract names them.

``strawberry.enum`` registers the domain's own classes under those names, so the API and
the domain share one type per enum.
"""

from enum import Enum
from typing import Any, TypeVar

import strawberry

from rma_graphql.domain import eligibility as e
from rma_graphql.domain import shipping
from rma_graphql.domain import statuses as s

strawberry.enum(s.ProcessingStatus, name="RmaOrderProcessingStatus")
RmaOrderProcessingStatus = s.ProcessingStatus
strawberry.enum(s.DeliveryStatus, name="RmaOrderDeliveryStatus")
RmaOrderDeliveryStatus = s.DeliveryStatus
strawberry.enum(s.FinancialStatus, name="RmaOrderFinancialStatus")
RmaOrderFinancialStatus = s.FinancialStatus
strawberry.enum(s.FulfillmentStatus, name="RmaOrderFulfillmentStatus")
RmaOrderFulfillmentStatus = s.FulfillmentStatus
strawberry.enum(s.ExpectedResolution, name="RmaOrderExpectedResolution")
RmaOrderExpectedResolution = s.ExpectedResolution
strawberry.enum(s.ReturnReason, name="RmaOrderReturnReason")
RmaOrderReturnReason = s.ReturnReason
strawberry.enum(s.ProductState, name="RmaOrderProductState")
RmaOrderProductState = s.ProductState
strawberry.enum(s.LineState, name="RmaOrderLineState")
RmaOrderLineState = s.LineState
strawberry.enum(s.FinancialResolutionType, name="RmaFinancialResolutionType")
RmaFinancialResolutionType = s.FinancialResolutionType
strawberry.enum(s.FinancialResolutionStatus, name="RmaFinancialResolutionStatus")
RmaFinancialResolutionStatus = s.FinancialResolutionStatus
strawberry.enum(s.LocationType, name="LocationTypeEnum")
LocationTypeEnum = s.LocationType
strawberry.enum(s.Dimension, name="RmaStatusDimension")
RmaStatusDimension = s.Dimension
strawberry.enum(s.EventType, name="RmaOrderEventType")
RmaOrderEventType = s.EventType
strawberry.enum(s.ActorType, name="RmaActorType")
RmaActorType = s.ActorType
strawberry.enum(s.CommentVisibility, name="RmaCommentVisibility")
RmaCommentVisibility = s.CommentVisibility
strawberry.enum(s.OrderStatus, name="OrderStatus")
OrderStatus = s.OrderStatus
strawberry.enum(shipping.ShippingEvent, name="ShippingEventEnum")
ShippingEventEnum = shipping.ShippingEvent
strawberry.enum(e.RefusalCode, name="ReturnRefusalReason")
ReturnRefusalReason = e.RefusalCode
strawberry.enum(e.OrderReturnStatus, name="OrderReturnStatus")
OrderReturnStatus = e.OrderReturnStatus
strawberry.enum(s.InspectionResult, name="RmaInspectionResult")
RmaInspectionResult = s.InspectionResult
strawberry.enum(s.Disposition, name="RmaDisposition")
RmaDisposition = s.Disposition


_MEMBERS: dict[type[Enum], dict[Any, Any]] = {}
E = TypeVar("E", bound=Enum)


def member(kind: type[E], value: Any) -> E:
    """``kind(value)`` for a stored value, by one dictionary lookup (an enum's own call
    costs ten times more, and a page converts hundreds)."""
    members = _MEMBERS.get(kind)
    if members is None:
        members = _MEMBERS[kind] = {m.value: m for m in kind}
    found = members.get(value)
    return found if found is not None else kind(value)
