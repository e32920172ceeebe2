"""An RMA order list's criteria as SQL: their values by name, and the conditions that bind
them (with the values, or as parameters of a statement prepared once per shape)."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from rma_graphql.domain.statuses import ProcessingStatus

_LISTED = (
    "processing_status",
    "delivery_status",
    "financial_status",
    "fulfillment_status",
    "expected_resolution",
    "custom_state",
)


def _like_anywhere(text: str) -> str:
    """A LIKE pattern (escape character ``/``) matching ``text`` anywhere."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def rma_order_filter_values(caller: Caller, f: RmaOrderFilter) -> dict[str, Any]:
    """The values of a caller's criteria, by the names ``rma_order_conditions`` binds them to
    (which names there are is the statement's shape)."""
    values: dict[str, Any] = {"organization": caller.organization_id}
    if caller.customer_id is not None:
        values["customer"] = caller.customer_id
    for name in _LISTED:
        if getattr(f, name):
            values[name] = list(getattr(f, name))
    shows_deleted = f.include_deleted or (
        f.processing_status is not None and ProcessingStatus.DELETED.value in f.processing_status
    )
    if not shows_deleted:
        values["deleted"] = ProcessingStatus.DELETED.value
    if f.location_id is not None:
        values["location_id"] = f.location_id
    if f.created_after is not None:
        values["created_after"] = f.created_after
    if f.created_before is not None:
        values["created_before"] = f.created_before
    if f.search:
        values["search"] = _like_anywhere(f.search.casefold())
    return values


def filter_conditions(values: Mapping[str, Any], dialect: str, *, bound: bool) -> list[ColumnElement[bool]]:
    """The conditions of ``rma_order_filter_values``: with their values, or (``bound``) with
    parameters of those names only, for a statement prepared once per shape (``= ANY`` of an
    array for a list of values on PostgreSQL: one shape however many values)."""
    c = t.rma_order.c

    def value(name: str, type_: Any = None, *, expanding: bool = False) -> Any:
        return bindparam(name, None if bound else values[name], type_=type_, expanding=expanding)

    conditions: list[ColumnElement[bool]] = [c.organization_id == value("organization")]
    if "customer" in values:
        conditions.append(c.customer_id == value("customer"))
    for name in _LISTED:
        if name in values and dialect == "postgresql":
            conditions.append(c[name] == any_(value(name, ARRAY(String))))
        elif name in values:
            conditions.append(c[name].in_(value(name, expanding=True)))
    if "deleted" in values:
        conditions.append(c.processing_status != value("deleted"))
    if "location_id" in values:
        conditions.append(c.location_id == value("location_id"))
    if "created_after" in values:
        conditions.append(c.created_at >= value("created_after", c.created_at.type))
    if "created_before" in values:
        conditions.append(c.created_at < value("created_before", c.created_at.type))
    if "search" in values:
        # The search text is kept in a table of its own (one row per RMA order).
        s = t.rma_order_search.c
        found = select(s.rma_order_id).where(
            s.organization_id == value("organization"), s.search_text.like(value("search"), escape="/")
        )
        conditions.append(c.id.in_(found))
    return conditions
