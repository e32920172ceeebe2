"""What a return asks for, checked as a create or an update would: its lines, the orders
they come from, the return policy snapshotted at creation, the refund terms, and the fields
a customer may not set."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rma_graphql.db import order_facts, rma_reads
from rma_graphql.db.engine import Connection
from rma_graphql.domain.access import Caller
from rma_graphql.domain.eligibility import (
    LineAssessment,
    OrderFacts,
    RequestedLine,
    ReturnPolicy,
    ReturnRequest,
)
from rma_graphql.domain.errors import BadUserInputError, ForbiddenError
from rma_graphql.domain.rma_order import RefundTerms, RmaLine, SoldOrder
from rma_graphql.domain.statuses import (
    ExpectedResolution,
    ProductState,
    ReturnReason,
)
from rma_graphql.service import eligibility
from rma_graphql.service.currency import to_minor
from rma_graphql.service.unit_of_work import UnitOfWork


@dataclass
class LineCommand:
    quantity: int
    reason: ReturnReason
    sku: str | None = None
    order_line_id: str | None = None
    pictures: list[str] = field(default_factory=list)
    label: str | None = None
    reference: str | None = None
    product_state: ProductState | None = None
    price: float | None = None
    serial_number: str | None = None
    comment: str | None = None


def lines_from_commands(
    commands: list[LineCommand], currency: str, path: str, order_lines: Mapping[str, Mapping[Any, Any]]
) -> list[RmaLine]:
    """The lines of a return; a line naming an order line takes its sku, label and price."""
    lines = []
    for i, line in enumerate(commands):
        line_path = f"{path}[{i}]"
        sku, label = line.sku, line.label
        price = None if line.price is None else to_minor(line.price, currency, f"{line_path}.price")
        if line.order_line_id is not None:
            sold = order_lines.get(line.order_line_id)
            if sold is None:
                raise BadUserInputError(
                    f"Unknown order line {line.order_line_id}.", f"{line_path}.orderLineId"
                )
            if sku is not None and sku != sold["sku"]:
                raise BadUserInputError(
                    f"SKU {sku!r} does not match the order line's SKU {sold['sku']!r}.", f"{line_path}.sku"
                )
            sku, label = sold["sku"], label or sold["label"]
            if price is None:
                if sold["currency"] != currency:
                    raise BadUserInputError(
                        f"The order is in {sold['currency']} and the return in {currency}.",
                        f"{line_path}.orderLineId",
                    )
                price = sold["unit_price"]
        assert sku is not None  # the input requires a sku when no order line is named
        lines.append(
            RmaLine(
                sku=sku,
                quantity=line.quantity,
                reason=line.reason,
                price=price,
                label=label,
                reference=line.reference,
                product_state=line.product_state,
                serial_number=line.serial_number,
                comment=line.comment,
                order_line_id=line.order_line_id,
                pictures=list(line.pictures),
            )
        )
    return lines


def with_line_orders(
    linked: list[tuple[str, str | None]], order_lines: Mapping[str, Mapping[Any, Any]], lines: list[RmaLine]
) -> list[tuple[str, str | None]]:
    """The linked orders, with the order of every line that names an order line."""
    result = list(linked)
    present = {order_id for order_id, _ in linked}
    for line in lines:
        if line.order_line_id is not None:
            sold = order_lines[line.order_line_id]
            if sold["order_id"] not in present:
                present.add(sold["order_id"])
                result.append((sold["order_id"], sold["external_reference"]))
    return result


async def check_return(
    conn: Connection,
    organization_id: str,
    policy: ReturnPolicy,
    *,
    expected_resolution: ExpectedResolution,
    lines: list[RmaLine],
    linked: list[tuple[str, str | None]],
    override_reason: str | None,
    exclude_rma_id: str | None,
    prefix: str,
    now: datetime,
    seen_by: Caller | None = None,
) -> None:
    """Apply the return policy, with the returned orders locked until the change commits;
    with ``seen_by``, the orders must be ones that caller sees."""
    orders = await eligibility.order_facts(
        conn, organization_id, [order_id for order_id, _ in linked], exclude_rma_id=exclude_rma_id, lock=True
    )
    if seen_by is not None:
        eligibility.check_orders_seen(seen_by, orders, f"{prefix}linkedOrders")
    request = ReturnRequest(
        expected_resolution=expected_resolution,
        lines=[
            RequestedLine(
                path=f"{prefix}lines[{i}]",
                quantity=line.quantity,
                reason=line.reason,
                product_state=line.product_state,
                pictures=line.pictures,
                order_line_id=line.order_line_id,
            )
            for i, line in enumerate(lines)
        ],
        override_reason=override_reason,
        resolution_path=f"{prefix}expectedResolution",
        linked_orders_path=f"{prefix}linkedOrders",
    )
    eligibility.check(policy, request, orders, now)


async def refund_terms_for(
    conn: Connection,
    organization_id: str,
    linked: list[tuple[str, str | None]],
    currency: str,
    *,
    on_partial: bool,
    on_complete: bool,
) -> RefundTerms:
    """What the linked orders (those in the return's currency) paid: shipping and unit prices."""
    ids = [order_id for order_id, _ in linked]
    shipping, sold = await order_facts.sold(conn, organization_id, ids, currency)
    return RefundTerms(
        orders=tuple(SoldOrder(shipping=shipping[i], lines=sold[i]) for i in ids if i in shipping),
        refund_shipping_on_partial_return=on_partial,
        refund_shipping_on_complete_return=on_complete,
    )


def search_text(
    *,
    return_reference: str,
    external_id: str | None,
    external_reference: str | None,
    sender: Mapping[Any, Any],
    skus: list[str],
) -> str:
    """What a search of RMA orders looks in: the return reference, the external id and
    reference, the sender's name and email and the skus, one a line, in lower case."""
    rest = search_text_after_reference(
        external_id=external_id, external_reference=external_reference, sender=sender, skus=skus
    )
    return return_reference.casefold() + rest


def search_text_after_reference(
    *,
    external_id: str | None,
    external_reference: str | None,
    sender: Mapping[Any, Any],
    skus: list[str],
) -> str:
    """The search text after the return reference, each part on a line of its own (what a
    create writes before its number, and so its reference, is known)."""
    parts = [external_id, external_reference, sender.get("fullname"), sender.get("email"), *skus]
    return "".join(f"\n{p.casefold()}" for p in parts if p)


async def configuration_for(
    conn: Connection, organization_id: str, location_id: str | None, field_path: str = "input.locationId"
) -> Mapping[Any, Any]:
    """The configuration of the given location, or of the organization's default location."""
    if location_id is None:
        configuration = await rma_reads.default_configuration(conn, organization_id)
        if configuration is None:
            raise BadUserInputError("The organization has no location with an RMA configuration.", field_path)
        return configuration
    if not await rma_reads.location_exists(conn, organization_id, location_id):
        raise BadUserInputError(f"Unknown location {location_id}.", field_path)
    configuration = await rma_reads.configuration(conn, organization_id, location_id=location_id)
    if configuration is None:
        raise BadUserInputError(f"Location {location_id} has no RMA configuration.", field_path)
    return configuration


async def returnable_items(
    uow: UnitOfWork, caller: Caller, order_id: str, location_id: str | None
) -> tuple[OrderFacts, list[LineAssessment]]:
    """Per line of an order, what may still be returned under the policy of the location
    (the organization's default location when none is given)."""
    async with uow.read() as conn:
        configuration = await configuration_for(conn, caller.organization_id, location_id, "locationId")
    return await eligibility.returnable_items(uow, caller, order_id, configuration)


async def existing_by_external_id(
    conn: Connection, organization_id: str, tp_app_id: str | None, external_id: str
) -> str | None:
    return await rma_reads.rma_id_by_external_id(conn, organization_id, tp_app_id, external_id)


def duplicate_external_id(existing_id: str) -> BadUserInputError:
    return BadUserInputError(
        f"An RMA order with this externalId and tpAppId already exists: {existing_id}.",
        "input.externalId",
        existingId=existing_id,
    )


def check_customer_fields(caller: Caller, given: Mapping[str, bool]) -> None:
    """A customer may not set the fields reserved for staff (money, acceptance)."""
    if caller.customer_id is None:
        return
    for path, is_set in given.items():
        if is_set:
            name = path.rsplit(".", 1)[-1]
            raise ForbiddenError(f"A customer may not set {name}.", field=path)


def default_flag(value: bool | None, fallback: bool) -> bool:
    return fallback if value is None else value
