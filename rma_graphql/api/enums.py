"""GraphQL enums, named as the public contract names them, from the domain's values."""

import strawberry

from rma_graphql.domain import statuses as s

RmaOrderProcessingStatus = strawberry.enum(s.ProcessingStatus, name="RmaOrderProcessingStatus")
RmaOrderDeliveryStatus = strawberry.enum(s.DeliveryStatus, name="RmaOrderDeliveryStatus")
RmaOrderFinancialStatus = strawberry.enum(s.FinancialStatus, name="RmaOrderFinancialStatus")
RmaOrderFulfillmentStatus = strawberry.enum(s.FulfillmentStatus, name="RmaOrderFulfillmentStatus")
RmaOrderExpectedResolution = strawberry.enum(s.ExpectedResolution, name="RmaOrderExpectedResolution")
RmaOrderReturnReason = strawberry.enum(s.ReturnReason, name="RmaOrderReturnReason")
RmaOrderProductState = strawberry.enum(s.ProductState, name="RmaOrderProductState")
RmaOrderLineState = strawberry.enum(s.LineState, name="RmaOrderLineState")
RmaFinancialResolutionType = strawberry.enum(s.FinancialResolutionType, name="RmaFinancialResolutionType")
RmaFinancialResolutionStatus = strawberry.enum(
    s.FinancialResolutionStatus, name="RmaFinancialResolutionStatus"
)
LocationTypeEnum = strawberry.enum(s.LocationType, name="LocationTypeEnum")
RmaStatusDimension = strawberry.enum(s.Dimension, name="RmaStatusDimension")
RmaOrderEventType = strawberry.enum(s.EventType, name="RmaOrderEventType")
RmaActorType = strawberry.enum(s.ActorType, name="RmaActorType")
