"""Per-request DataLoaders: one ``IN`` query per relation and level, never one per row."""

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from rma_graphql.service import catalog, queries
from rma_graphql.service.records import (
    CustomerRecord,
    LocationRecord,
    OrganizationRecord,
    ProductRecord,
    R,
    RmaFinancialResolutionRecord,
    RmaLineInspectionRecord,
    RmaLinkedOrderRecord,
    RmaOrderCommentRecord,
    RmaOrderLineRecord,
    RmaShipmentEventRecord,
    RmaShipmentRecord,
    SalesOrderLineRecord,
    SalesOrderRecord,
    SkuRecord,
    SkuStockRecord,
)
from rma_graphql.service.unit_of_work import UnitOfWork


@dataclass
class Loaders:
    lines: DataLoader[str, list[RmaOrderLineRecord]]
    linked_orders: DataLoader[str, list[RmaLinkedOrderRecord]]
    financial_resolutions: DataLoader[str, list[RmaFinancialResolutionRecord]]
    comments: DataLoader[str, list[RmaOrderCommentRecord]]
    shipments: DataLoader[str, list[RmaShipmentRecord]]
    shipment_events: DataLoader[str, list[RmaShipmentEventRecord]]
    inspections: DataLoader[str, list[RmaLineInspectionRecord]]
    replacement_orders: DataLoader[str, list[SalesOrderRecord]]
    locations: DataLoader[str, LocationRecord | None]
    organizations: DataLoader[str, OrganizationRecord | None]
    products: DataLoader[str, ProductRecord | None]
    customers: DataLoader[str, CustomerRecord | None]
    orders: DataLoader[str, SalesOrderRecord | None]
    skus_by_product: DataLoader[str, list[SkuRecord]]
    stock_by_sku: DataLoader[str, list[SkuStockRecord]]
    lines_by_order: DataLoader[str, list[SalesOrderLineRecord]]


def make_loaders(uow: UnitOfWork) -> Loaders:
    def children(relation: str, kind: type[R]) -> DataLoader[str, list[R]]:
        async def load(keys: Sequence[str]) -> list[list[R]]:
            return await queries.children_by_rma(uow, relation, kind, keys)

        return DataLoader(load_fn=load)

    def by_id(table: str, kind: type[R]) -> DataLoader[str, R | None]:
        async def load(keys: Sequence[str]) -> list[R | None]:
            return await queries.by_id(uow, table, kind, keys)

        return DataLoader(load_fn=load)

    def of_catalog(relation: str, kind: type[R]) -> DataLoader[str, list[R]]:
        async def load(keys: Sequence[str]) -> list[list[R]]:
            return await catalog.children(uow, relation, kind, keys)

        return DataLoader(load_fn=load)

    return Loaders(
        lines=children("lines", RmaOrderLineRecord),
        linked_orders=children("linked_orders", RmaLinkedOrderRecord),
        financial_resolutions=children("financial_resolutions", RmaFinancialResolutionRecord),
        comments=children("comments", RmaOrderCommentRecord),
        shipments=children("shipments", RmaShipmentRecord),
        shipment_events=children("shipment_events", RmaShipmentEventRecord),
        inspections=children("inspections", RmaLineInspectionRecord),
        replacement_orders=children("replacement_orders", SalesOrderRecord),
        locations=by_id("locations", LocationRecord),
        organizations=by_id("organizations", OrganizationRecord),
        products=by_id("products", ProductRecord),
        customers=by_id("customers", CustomerRecord),
        orders=by_id("orders", SalesOrderRecord),
        skus_by_product=of_catalog("skus_by_product", SkuRecord),
        stock_by_sku=of_catalog("stock_by_sku", SkuStockRecord),
        lines_by_order=of_catalog("lines_by_order", SalesOrderLineRecord),
    )
