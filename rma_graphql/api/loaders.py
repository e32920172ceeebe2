"""Per-request DataLoaders: one ``IN`` query per relation and level, never one per row."""

from collections.abc import Sequence
from functools import cached_property

from strawberry.dataloader import DataLoader

from rma_graphql.service import catalog, custom_states, queries
from rma_graphql.service.history_messages import HistoryLanguage, history_language
from rma_graphql.service.records import (
    CustomerRecord,
    LocationRecord,
    OrganizationRecord,
    ProductRecord,
    R,
    RmaCustomStateRecord,
    RmaFinancialResolutionRecord,
    RmaLineInspectionRecord,
    RmaLinkedOrderRecord,
    RmaOrderCommentRecord,
    RmaOrderEventRecord,
    RmaOrderLineRecord,
    RmaShipmentEventRecord,
    RmaShipmentRecord,
    SalesOrderLineRecord,
    SalesOrderRecord,
    SkuRecord,
    SkuStockRecord,
)
from rma_graphql.service.unit_of_work import UnitOfWork


class Loaders:
    """A request's DataLoaders, each made when a resolver first asks for it: most
    operations use two or three of the seventeen."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def _children(self, relation: str, kind: type[R]) -> DataLoader[str, list[R]]:
        async def load(keys: Sequence[str]) -> list[list[R]]:
            return await queries.children_by_rma(self.uow, relation, kind, keys)

        return DataLoader(load_fn=load)

    def _by_id(self, table: str, kind: type[R]) -> DataLoader[str, R | None]:
        async def load(keys: Sequence[str]) -> list[R | None]:
            return await queries.by_id(self.uow, table, kind, keys)

        return DataLoader(load_fn=load)

    def _of_catalog(self, relation: str, kind: type[R]) -> DataLoader[str, list[R]]:
        async def load(keys: Sequence[str]) -> list[list[R]]:
            return await catalog.children(self.uow, relation, kind, keys)

        return DataLoader(load_fn=load)

    @cached_property
    def history(self) -> DataLoader[queries.HistoryKey, list[RmaOrderEventRecord]]:
        """Pages of RMA orders' histories: one statement for a page of RMA orders."""

        async def load(keys: Sequence[queries.HistoryKey]) -> list[list[RmaOrderEventRecord]]:
            return await queries.histories(self.uow, keys)

        return DataLoader(load_fn=load)

    @cached_property
    def lines(self) -> DataLoader[str, list[RmaOrderLineRecord]]:
        return self._children("lines", RmaOrderLineRecord)

    @cached_property
    def linked_orders(self) -> DataLoader[str, list[RmaLinkedOrderRecord]]:
        return self._children("linked_orders", RmaLinkedOrderRecord)

    @cached_property
    def financial_resolutions(self) -> DataLoader[str, list[RmaFinancialResolutionRecord]]:
        return self._children("financial_resolutions", RmaFinancialResolutionRecord)

    @cached_property
    def comments(self) -> DataLoader[str, list[RmaOrderCommentRecord]]:
        return self._children("comments", RmaOrderCommentRecord)

    @cached_property
    def shipments(self) -> DataLoader[str, list[RmaShipmentRecord]]:
        return self._children("shipments", RmaShipmentRecord)

    @cached_property
    def shipment_events(self) -> DataLoader[str, list[RmaShipmentEventRecord]]:
        return self._children("shipment_events", RmaShipmentEventRecord)

    @cached_property
    def inspections(self) -> DataLoader[str, list[RmaLineInspectionRecord]]:
        return self._children("inspections", RmaLineInspectionRecord)

    @cached_property
    def replacement_orders(self) -> DataLoader[str, list[SalesOrderRecord]]:
        return self._children("replacement_orders", SalesOrderRecord)

    @cached_property
    def locations(self) -> DataLoader[str, LocationRecord | None]:
        return self._by_id("locations", LocationRecord)

    @cached_property
    def custom_states(self) -> DataLoader[str, dict[str, RmaCustomStateRecord]]:
        """Per organization: its custom states by code."""

        async def load(keys: Sequence[str]) -> list[dict[str, RmaCustomStateRecord]]:
            return [{row.code: row for row in await custom_states.states(self.uow, key)} for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def history_languages(self) -> DataLoader[str, HistoryLanguage]:
        """Per organization: its default language and its own texts of history messages."""

        async def load(keys: Sequence[str]) -> list[HistoryLanguage]:
            return [await history_language(self.uow, key) for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def organizations(self) -> DataLoader[str, OrganizationRecord | None]:
        return self._by_id("organizations", OrganizationRecord)

    @cached_property
    def products(self) -> DataLoader[str, ProductRecord | None]:
        return self._by_id("products", ProductRecord)

    @cached_property
    def customers(self) -> DataLoader[str, CustomerRecord | None]:
        return self._by_id("customers", CustomerRecord)

    @cached_property
    def orders(self) -> DataLoader[str, SalesOrderRecord | None]:
        return self._by_id("orders", SalesOrderRecord)

    @cached_property
    def skus_by_product(self) -> DataLoader[str, list[SkuRecord]]:
        return self._of_catalog("skus_by_product", SkuRecord)

    @cached_property
    def stock_by_sku(self) -> DataLoader[str, list[SkuStockRecord]]:
        return self._of_catalog("stock_by_sku", SkuStockRecord)

    @cached_property
    def lines_by_order(self) -> DataLoader[str, list[SalesOrderLineRecord]]:
        return self._of_catalog("lines_by_order", SalesOrderLineRecord)
