"""Per-request DataLoaders: one ``IN`` query per relation and level, never one per row."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from rma_graphql.service import catalog, queries
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]


@dataclass
class Loaders:
    lines: DataLoader[str, list[Row]]
    linked_orders: DataLoader[str, list[Row]]
    financial_resolutions: DataLoader[str, list[Row]]
    comments: DataLoader[str, list[Row]]
    shipments: DataLoader[str, list[Row]]
    shipment_events: DataLoader[str, list[Row]]
    inspections: DataLoader[str, list[Row]]
    replacement_orders: DataLoader[str, list[Row]]
    locations: DataLoader[str, Row | None]
    organizations: DataLoader[str, Row | None]
    products: DataLoader[str, Row | None]
    customers: DataLoader[str, Row | None]
    orders: DataLoader[str, Row | None]
    skus_by_product: DataLoader[str, list[Row]]
    stock_by_sku: DataLoader[str, list[Row]]
    lines_by_order: DataLoader[str, list[Row]]


def make_loaders(uow: UnitOfWork) -> Loaders:
    def children(relation: str) -> DataLoader[str, list[Row]]:
        async def load(keys: Sequence[str]) -> list[list[Row]]:
            return await queries.children_by_rma(uow, relation, keys)

        return DataLoader(load_fn=load)

    def by_id(kind: str) -> DataLoader[str, Row | None]:
        return DataLoader(load_fn=partial(queries.rows_by_id, uow, kind))

    return Loaders(
        lines=children("lines"),
        linked_orders=children("linked_orders"),
        financial_resolutions=children("financial_resolutions"),
        comments=children("comments"),
        shipments=children("shipments"),
        shipment_events=children("shipment_events"),
        inspections=children("inspections"),
        replacement_orders=children("replacement_orders"),
        locations=by_id("locations"),
        organizations=by_id("organizations"),
        products=by_id("products"),
        customers=by_id("customers"),
        orders=by_id("orders"),
        skus_by_product=DataLoader(load_fn=partial(catalog.children, uow, "skus_by_product")),
        stock_by_sku=DataLoader(load_fn=partial(catalog.children, uow, "stock_by_sku")),
        lines_by_order=DataLoader(load_fn=partial(catalog.children, uow, "lines_by_order")),
    )
