"""The read records the API shows are the tables' columns, name for name and type for type."""

import typing
from dataclasses import fields

import pytest
from sqlmodel import SQLModel

from rma_graphql.db import tables as t
from rma_graphql.service import notification_records, records

MODELS = {
    model.__tablename__: model for model in SQLModel.__subclasses__() if hasattr(model, "__tablename__")
}
RECORDS = {
    "organization": records.OrganizationRecord,
    "location": records.LocationRecord,
    "rma_configuration": records.RmaConfigurationRecord,
    "rma_order": records.RmaOrderRecord,
    "rma_order_line": records.RmaOrderLineRecord,
    "rma_linked_order": records.RmaLinkedOrderRecord,
    "rma_financial_resolution": records.RmaFinancialResolutionRecord,
    "rma_order_comment": records.RmaOrderCommentRecord,
    "rma_order_event": records.RmaOrderEventRecord,
    "rma_shipment": records.RmaShipmentRecord,
    "rma_shipment_event": records.RmaShipmentEventRecord,
    "rma_line_inspection": records.RmaLineInspectionRecord,
    "sales_order": records.SalesOrderRecord,
    "sales_order_line": records.SalesOrderLineRecord,
    "product": records.ProductRecord,
    "sku": records.SkuRecord,
    "sku_stock": records.SkuStockRecord,
    "customer": records.CustomerRecord,
    "voucher": records.VoucherRecord,
    "api_client": records.ApiClientRecord,
    "app_user": records.AppUserRecord,
    "rma_custom_state": records.RmaCustomStateRecord,
    "webhook_endpoint": records.WebhookEndpointRecord,
    "webhook_delivery": records.WebhookDeliveryRecord,
    "webhook_attempt": records.WebhookAttemptRecord,
    "notification_template": notification_records.NotificationTemplateRecord,
    "notification_rule": notification_records.NotificationRuleRecord,
    "notification_delivery": notification_records.NotificationDeliveryRecord,
}


@pytest.mark.parametrize("table", sorted(RECORDS))
def test_a_record_has_its_tables_columns_with_their_types(table: str) -> None:
    record = RECORDS[table]
    hints = typing.get_type_hints(MODELS[table])

    assert [f.name for f in fields(record)] == [column.name for column in t.metadata.tables[table].columns]
    assert typing.get_type_hints(record) == {name: hints[name] for name in typing.get_type_hints(record)}


def test_a_record_is_built_from_a_row_and_leaves_a_joins_columns_out() -> None:
    row = {column.name: None for column in t.metadata.tables["location"].columns} | {"currency": "EUR"}

    found = records.record(records.LocationRecord, {**row, "id": "loc-1", "name": "Main"})

    assert (found.id, found.name) == ("loc-1", "Main")
    assert not hasattr(found, "currency")
