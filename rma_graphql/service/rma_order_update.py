"""Updating an RMA order while it is NEW: the fields given, and the return policy again for
new lines, linked orders, resolution or override."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rma_graphql.db import repository as repo
from rma_graphql.db.engine import Connection
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.eligibility import (
    ReturnPolicy,
)
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.service import eligibility
from rma_graphql.service.currency import to_minor
from rma_graphql.service.return_requests import (
    LineCommand,
    check_customer_fields,
    check_return,
    duplicate_external_id,
    existing_by_external_id,
    lines_from_commands,
    refund_terms_for,
    search_text,
    with_line_orders,
)
from rma_graphql.service.unit_of_work import UnitOfWork


async def update_rma_order(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None = None,
) -> str:
    """Apply the given fields (only those present) to an RMA order that is still NEW.

    New lines, linked orders, expected resolution or override go through the return
    policy snapshotted at creation, as a create would.
    """
    organization_id = caller.organization_id
    async with uow.change(caller) as change:
        conn, now = change.conn, change.now
        rma = await change.rma_orders.get(rma_id)
        caller.check_may(Action.UPDATE, rma.processing_status)
        row = change.rma_orders.row(rma_id)
        # Not Change.load: a customer's staff-only fields are refused before a version conflict.
        _check_staff_fields(caller, changes)
        rma.check_version(expected_version)
        policy_applies = bool(set(POLICY_FIELDS) & changes.keys())
        # The orders of the lines are linked again only when lines or linked orders change.
        relink = "lines" in changes or "linked_orders" in changes
        named = changes["lines"] if changes.get("lines") is not None else rma.lines
        order_lines = await eligibility.order_lines(
            conn,
            caller,
            [line.order_line_id for line in named if line.order_line_id] if relink else [],
        )
        domain_changes = _domain_changes(changes, rma.currency, order_lines)
        previous_linked = await repo.linked_order_rows(conn, rma_id)
        previous_pairs = repo.linked_pairs(previous_linked)
        linked = changes.pop("linked_orders", previous_pairs)
        columns: dict[str, Any] = dict(changes)
        await _check_external_id(conn, organization_id, row, columns.get("external_id"))
        events = rma.perform(Action.UPDATE, now=now, **domain_changes)
        if relink:
            linked = with_line_orders(linked, order_lines, rma.lines)
        if policy_applies and row["policy"] is not None:
            await _recheck_policy(conn, caller, rma, row, linked, columns, now)
        if relink:
            await _refresh_refund_terms(conn, organization_id, rma, linked)
            columns["refund_terms"] = rma.refund_terms.to_json()
        linked_orders, unlinked = previous_linked, set[str]()
        if linked != previous_pairs:
            linked_orders = await repo.replace_linked_orders(conn, organization_id, rma_id, linked)
            unlinked = {order["order_id"] for order in previous_linked} - {order_id for order_id, _ in linked}
        columns["search_text"] = _search_text(row, columns, rma)
        await change.rma_orders.save(
            rma,
            events,
            columns=columns,
            lines_replaced="lines" in domain_changes,
            linked_orders=linked_orders,
            unlinked_orders=unlinked,
        )
    return rma_id


# The fields whose change goes through the return policy again.
POLICY_FIELDS = ("lines", "linked_orders", "expected_resolution", "return_window_override_reason")
# The fields the aggregate holds, given to its update as they are.
_AGGREGATE_FIELDS = (
    "expected_resolution",
    "apply_return_fee",
    "auto_generate_financial_resolution",
    "auto_execute_financial_resolution",
)


def _check_staff_fields(caller: Caller, changes: Mapping[str, Any]) -> None:
    staff_fields = (
        ("apply_return_fee", "applyReturnFee"),
        ("auto_generate_financial_resolution", "autoGenerateFinancialResolution"),
        ("auto_execute_financial_resolution", "autoExecuteFinancialResolution"),
        ("retained_amount_for_shipping", "retainedAmountForShipping"),
        ("return_window_override_reason", "returnWindowOverrideReason"),
    )
    check_customer_fields(
        caller,
        {f"input.{camel}": name in changes for name, camel in staff_fields}
        | {
            f"input.lines[{i}].price": line.price is not None
            for i, line in enumerate(changes.get("lines") or [])
        },
    )


def _domain_changes(
    changes: dict[str, Any], currency: str, order_lines: Mapping[str, Mapping[Any, Any]]
) -> dict[str, Any]:
    """The changes the aggregate makes, taken out of ``changes`` (the rest are columns)."""
    domain_changes: dict[str, Any] = {}
    commands: list[LineCommand] | None = changes.pop("lines", None)
    if commands is not None:
        domain_changes["lines"] = lines_from_commands(commands, currency, "input.lines", order_lines)
    if "retained_amount_for_shipping" in changes:
        domain_changes["retained_amount_for_shipping"] = to_minor(
            changes.pop("retained_amount_for_shipping"), currency, "input.retainedAmountForShipping"
        )
    for name in _AGGREGATE_FIELDS:
        if name in changes:
            domain_changes[name] = changes.pop(name)
    return domain_changes


async def _check_external_id(
    conn: Connection, organization_id: str, row: Mapping[Any, Any], external_id: str | None
) -> None:
    if external_id is None:
        return
    existing = await existing_by_external_id(conn, organization_id, row["tp_app_id"], external_id)
    if existing is not None and existing != row["id"]:
        raise duplicate_external_id(existing)


async def _recheck_policy(
    conn: Connection,
    caller: Caller,
    rma: RmaOrder,
    row: Mapping[Any, Any],
    linked: list[tuple[str, str | None]],
    columns: Mapping[str, Any],
    now: datetime,
) -> None:
    """The policy snapshotted at creation, on the return as the update leaves it."""
    await check_return(
        conn,
        caller.organization_id,
        ReturnPolicy.from_json(row["policy"]),
        expected_resolution=rma.expected_resolution,
        lines=rma.lines,
        linked=linked,
        override_reason=columns.get("return_window_override_reason", row["return_window_override_reason"]),
        exclude_rma_id=rma.id,
        prefix="input.",
        now=now,
        seen_by=caller,
    )


async def _refresh_refund_terms(
    conn: Connection, organization_id: str, rma: RmaOrder, linked: list[tuple[str, str | None]]
) -> None:
    """The prices paid and shipping refunds of the orders the return now names."""
    terms = rma.refund_terms
    rma.refund_terms = await refund_terms_for(
        conn,
        organization_id,
        linked,
        rma.currency,
        on_partial=terms.refund_shipping_on_partial_return,
        on_complete=terms.refund_shipping_on_complete_return,
    )


def _search_text(row: Mapping[Any, Any], columns: Mapping[str, Any], rma: RmaOrder) -> str:
    merged = {**row, **columns}
    return search_text(
        return_reference=row["return_reference"],
        external_id=merged["external_id"],
        external_reference=merged["external_reference"],
        sender=merged["sender"],
        skus=[line.sku for line in rma.lines],
    )


# The details staff may correct after submit: their columns and their names in the API.
CORRECTABLE = {
    "sender": "sender",
    "delivery_contact": "deliveryContact",
    "owner": "owner",
    "billing_contact": "billingContact",
    "comment": "comment",
    "meta": "meta",
    "external_reference": "externalReference",
}


async def correct_rma_order(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> str:
    """Correct details of an RMA order (``CORRECTABLE``), in any processing status but the
    closed ones: one CORRECTED event listing each field that changes, before and after, and
    a new version; none when no field changes."""
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.CORRECT, expected_version=expected_version)
        row = change.rma_orders.row(rma_id)
        columns = {name: value for name, value in changes.items() if row[name] != value}
        fields = [
            {"field": CORRECTABLE[name], "before": row[name], "after": value}
            for name, value in columns.items()
        ]
        events = rma.correct(fields)
        if columns:
            columns["search_text"] = _search_text(row, columns, rma)
            await change.rma_orders.save(rma, events, columns=columns, last=True)
    return rma_id
