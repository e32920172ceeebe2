"""Creating an RMA order: a new return, checked against the location's return policy."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import repository as repo
from rma_graphql.db.engine import Connection
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.db.rma_order_repository import return_status_changes
from rma_graphql.domain.access import Caller
from rma_graphql.domain.eligibility import ReturnPolicy
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.rma_order import RecordedEvent, RefundTerms, RmaLine, RmaOrder
from rma_graphql.domain.statuses import (
    ExpectedResolution,
)
from rma_graphql.service import eligibility
from rma_graphql.service.currency import to_minor, validate_currency
from rma_graphql.service.return_requests import (
    LineCommand,
    check_customer_fields,
    check_return,
    configuration_for,
    default_flag,
    duplicate_external_id,
    existing_by_external_id,
    lines_from_commands,
    refund_terms_for,
    search_text_after_reference,
    with_line_orders,
)
from rma_graphql.service.unit_of_work import UnitOfWork

Row = Mapping[Any, Any]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CreateRmaOrder:
    expected_resolution: ExpectedResolution
    lines: list[LineCommand]
    sender: dict[str, Any]
    delivery_contact: dict[str, Any]
    id: str | None = None
    location_id: str | None = None
    owner: dict[str, Any] | None = None
    billing_contact: dict[str, Any] | None = None
    external_id: str | None = None
    external_reference: str | None = None
    tp_app_id: str | None = None
    comment: str | None = None
    meta: Any = None
    currency: str | None = None
    apply_return_fee: bool = False
    auto_generate_financial_resolution: bool | None = None
    auto_execute_financial_resolution: bool | None = None
    retained_amount_for_shipping: float | None = None
    accept: bool = False
    linked_orders: list[tuple[str, str | None]] = field(default_factory=list)
    received_at: datetime | None = None
    issued_at: datetime | None = None
    return_slip_url: str | None = None
    return_window_override_reason: str | None = None


async def create_rma_order(uow: UnitOfWork, caller: Caller, command: CreateRmaOrder) -> str:
    try:
        return await _create(uow, caller, command)
    except DuplicateRowError:
        # A concurrent create took the same externalId (or id) between our check and insert.
        async with uow.read() as conn:
            if command.external_id is not None:
                existing = await existing_by_external_id(
                    conn, caller.organization_id, command.tp_app_id, command.external_id
                )
                if existing is not None:
                    raise duplicate_external_id(existing) from None
        if command.id is not None:
            raise BadUserInputError(
                f"An RMA order with id {command.id} already exists.", "input.id"
            ) from None
        raise


async def _create(uow: UnitOfWork, caller: Caller, command: CreateRmaOrder) -> str:
    organization_id = caller.organization_id
    async with uow.change(caller) as change:
        conn, now = change.conn, change.now
        configuration = await configuration_for(conn, organization_id, command.location_id)
        order_lines = await eligibility.order_lines(
            conn, caller, [line.order_line_id for line in command.lines if line.order_line_id]
        )
        currency = _currency(command, configuration, order_lines)
        lines = lines_from_commands(command.lines, currency, "input.lines", order_lines)
        _check_staff_fields(caller, command)
        await _check_ids_are_free(conn, organization_id, command)
        linked = with_line_orders(command.linked_orders, order_lines, lines)
        policy = eligibility.policy_from_configuration(configuration)
        await check_return(
            conn,
            organization_id,
            policy,
            expected_resolution=command.expected_resolution,
            lines=lines,
            linked=linked,
            override_reason=command.return_window_override_reason,
            exclude_rma_id=None,
            prefix="input.",
            now=now,
            seen_by=caller,
        )
        terms = await refund_terms_for(
            conn,
            organization_id,
            linked,
            currency,
            on_partial=configuration["refund_shipping_on_partial_return"],
            on_complete=configuration["refund_shipping_on_complete_return"],
        )
        rma, events = _new_rma(command, configuration, currency, lines, terms, now)
        columns = _columns(caller, command, configuration, rma, policy, len(events), now)
        # Read before the number is taken: its row is held until the create commits.
        order_statuses = await return_status_changes(
            conn, organization_id, {order_id for order_id, _ in linked}, new=rma.processing_status
        )
        written, linked_orders = await repo.insert_new_rma(
            conn,
            columns,
            rma,
            linked,
            reference_prefix=f"RMA-{columns['issued_at'].year}-",
            search_rest=search_text_after_reference(
                external_id=command.external_id,
                external_reference=command.external_reference,
                sender=command.sender,
                skus=[line.sku for line in rma.lines],
            ),
        )
        await change.rma_orders.record(
            rma, written, events, first_sequence=1, linked_orders=linked_orders, order_statuses=order_statuses
        )
    return rma.id


def _currency(command: CreateRmaOrder, configuration: Row, order_lines: Mapping[str, Row]) -> str:
    """The currency given, else the returned order's, else the configuration's."""
    order_currencies = {line["currency"] for line in order_lines.values()}
    if command.currency is not None:
        currency = validate_currency(command.currency, "input.currency")
    elif len(order_currencies) == 1:
        currency = order_currencies.pop()  # a return of an order is in the order's currency
    else:
        currency = configuration["currency"]
    if command.apply_return_fee and currency != configuration["currency"]:
        raise BadUserInputError(
            f"applyReturnFee needs the configuration's currency {configuration['currency']}, not {currency}.",
            "input.currency",
        )
    return str(currency)


def _check_staff_fields(caller: Caller, command: CreateRmaOrder) -> None:
    check_customer_fields(
        caller,
        {
            "input.accept": command.accept,
            "input.returnWindowOverrideReason": command.return_window_override_reason is not None,
            "input.applyReturnFee": command.apply_return_fee,
            "input.autoGenerateFinancialResolution": command.auto_generate_financial_resolution is not None,
            "input.autoExecuteFinancialResolution": command.auto_execute_financial_resolution is not None,
            "input.retainedAmountForShipping": command.retained_amount_for_shipping is not None,
            **{f"input.lines[{i}].price": line.price is not None for i, line in enumerate(command.lines)},
        },
    )


async def _check_ids_are_free(conn: Connection, organization_id: str, command: CreateRmaOrder) -> None:
    """The id and the externalId a create asks for are nobody's yet."""
    if command.id is not None and await repo.rma_exists(conn, command.id):
        raise BadUserInputError(f"An RMA order with id {command.id} already exists.", "input.id")
    if command.external_id is not None:
        existing = await existing_by_external_id(
            conn, organization_id, command.tp_app_id, command.external_id
        )
        if existing is not None:
            raise duplicate_external_id(existing)


def _new_rma(
    command: CreateRmaOrder,
    configuration: Row,
    currency: str,
    lines: list[RmaLine],
    terms: RefundTerms,
    now: datetime,
) -> tuple[RmaOrder, list[RecordedEvent]]:
    retained = (
        to_minor(command.retained_amount_for_shipping, currency, "input.retainedAmountForShipping")
        if command.retained_amount_for_shipping is not None
        else configuration["retained_amount_for_shipping"]
    )
    return RmaOrder.create(
        id=command.id or str(uuid.uuid4()),
        expected_resolution=command.expected_resolution,
        currency=currency,
        lines=lines,
        retained_amount_for_shipping=retained,
        apply_return_fee=command.apply_return_fee,
        # The fee in force when the return is created: later edits never change it.
        return_fee=configuration["return_fee"],
        auto_generate_financial_resolution=default_flag(
            command.auto_generate_financial_resolution, configuration["auto_generate_financial_resolution"]
        ),
        auto_execute_financial_resolution=default_flag(
            command.auto_execute_financial_resolution, configuration["auto_execute_financial_resolution"]
        ),
        refund_terms=terms,
        accept=command.accept,
        now=now,
    )


def _columns(
    caller: Caller,
    command: CreateRmaOrder,
    configuration: Row,
    rma: RmaOrder,
    policy: ReturnPolicy,
    event_count: int,
    now: datetime,
) -> dict[str, Any]:
    """The new row's columns beside the aggregate's state and its return number (with
    its reference and search text: ``repository.insert_new_rma``)."""
    return {
        "id": rma.id,
        "organization_id": caller.organization_id,
        "configuration_id": configuration["id"],
        "location_id": configuration["location_id"],
        "external_id": command.external_id,
        "external_reference": command.external_reference,
        "tp_app_id": command.tp_app_id,
        "tp_app_key": command.tp_app_id or "",
        "return_slip_url": command.return_slip_url,
        "currency": rma.currency,
        "return_fee": configuration["return_fee"],
        "delivery_contact": command.delivery_contact,
        "sender": command.sender,
        "owner": command.owner,
        "customer_id": caller.customer_id,
        "billing_contact": command.billing_contact,
        "received_at": command.received_at or now,
        "issued_at": command.issued_at or now,
        "comment": command.comment,
        "meta": command.meta,
        "last_event_sequence": event_count,
        "policy": policy.to_json(),
        "refund_terms": rma.refund_terms.to_json(),
        "return_window_override_reason": command.return_window_override_reason,
        "created_at": now,
        "updated_at": now,
    }
