"""RMA order use cases: create, update, and every state-machine action."""

import copy
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rma_graphql.db import repository as repo
from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.eligibility import (
    LineAssessment,
    OrderFacts,
    RequestedLine,
    ReturnPolicy,
    ReturnRequest,
)
from rma_graphql.domain.errors import BadUserInputError, ForbiddenError, NotFoundError
from rma_graphql.domain.rma_order import RecordedEvent, RefundTerms, RmaLine, RmaOrder, SoldOrder
from rma_graphql.domain.statuses import (
    CommentVisibility,
    ExpectedResolution,
    ProductState,
    ReturnReason,
)
from rma_graphql.service import eligibility, payments
from rma_graphql.service.currency import to_minor, validate_currency
from rma_graphql.service.unit_of_work import Change, UnitOfWork
from rma_graphql.service.unit_of_work import written_version as written_version


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


def _now() -> datetime:
    return datetime.now(UTC)


def _lines(
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


def _with_line_orders(
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


async def _check_return(
    conn: AsyncConnection,
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
) -> None:
    """Apply the return policy, with the returned orders locked until the change commits."""
    orders = await eligibility.order_facts(
        conn, organization_id, [order_id for order_id, _ in linked], exclude_rma_id=exclude_rma_id, lock=True
    )
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
    )
    eligibility.check(policy, request, orders, now)


async def _refund_terms(
    conn: AsyncConnection,
    organization_id: str,
    linked: list[tuple[str, str | None]],
    currency: str,
    *,
    on_partial: bool,
    on_complete: bool,
) -> RefundTerms:
    """What the linked orders (those in the return's currency) paid: shipping and unit prices."""
    ids = [order_id for order_id, _ in linked]
    orders = await conn.execute(
        select(t.sales_order.c.id, t.sales_order.c.shipping_amount).where(
            t.sales_order.c.organization_id == organization_id,
            t.sales_order.c.id.in_(ids),
            t.sales_order.c.currency == currency,
        )
    )
    shipping = {row.id: row.shipping_amount for row in orders}
    lines = await conn.execute(
        select(
            t.sales_order_line.c.id,
            t.sales_order_line.c.order_id,
            t.sales_order_line.c.quantity,
            t.sales_order_line.c.unit_price,
        ).where(t.sales_order_line.c.order_id.in_(list(shipping)))
    )
    sold: dict[str, dict[str, tuple[int, int]]] = {order_id: {} for order_id in shipping}
    for row in lines:
        sold[row.order_id][row.id] = (row.quantity, row.unit_price)
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
    parts = [
        return_reference,
        external_id,
        external_reference,
        sender.get("fullname"),
        sender.get("email"),
        *skus,
    ]
    return "\n".join(p.casefold() for p in parts if p)


async def configuration_for(
    conn: AsyncConnection, organization_id: str, location_id: str | None, field_path: str = "input.locationId"
) -> Mapping[Any, Any]:
    """The configuration of the given location, or of the organization's default location."""
    if location_id is None:
        result = await conn.execute(
            select(t.rma_configuration)
            .join(t.location, t.location.c.id == t.rma_configuration.c.location_id)
            .where(t.rma_configuration.c.organization_id == organization_id)
            .order_by(t.location.c.created_at, t.location.c.id)
            .limit(1)
        )
        configuration = result.mappings().first()
        if configuration is None:
            raise BadUserInputError("The organization has no location with an RMA configuration.", field_path)
        return configuration
    located = await conn.execute(
        select(t.location.c.id).where(
            t.location.c.id == location_id, t.location.c.organization_id == organization_id
        )
    )
    if located.first() is None:
        raise BadUserInputError(f"Unknown location {location_id}.", field_path)
    result = await conn.execute(
        select(t.rma_configuration).where(t.rma_configuration.c.location_id == location_id)
    )
    configuration = result.mappings().first()
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
    return await eligibility.returnable_items(uow, caller.organization_id, order_id, configuration)


async def _existing_by_external_id(
    conn: AsyncConnection, organization_id: str, tp_app_id: str | None, external_id: str
) -> str | None:
    result = await conn.execute(
        select(t.rma_order.c.id).where(
            t.rma_order.c.organization_id == organization_id,
            t.rma_order.c.tp_app_key == (tp_app_id or ""),
            t.rma_order.c.external_id == external_id,
        )
    )
    return result.scalar_one_or_none()


def _duplicate_external_id(existing_id: str) -> BadUserInputError:
    return BadUserInputError(
        f"An RMA order with this externalId and tpAppId already exists: {existing_id}.",
        "input.externalId",
        existingId=existing_id,
    )


async def create_rma_order(uow: UnitOfWork, caller: Caller, command: CreateRmaOrder) -> str:
    try:
        return await _create(uow, caller, command)
    except IntegrityError:
        # A concurrent create took the same externalId (or id) between our check and insert.
        async with uow.read() as conn:
            if command.external_id is not None:
                existing = await _existing_by_external_id(
                    conn, caller.organization_id, command.tp_app_id, command.external_id
                )
                if existing is not None:
                    raise _duplicate_external_id(existing) from None
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
            conn, organization_id, [line.order_line_id for line in command.lines if line.order_line_id]
        )
        order_currencies = {line["currency"] for line in order_lines.values()}
        if command.currency is not None:
            currency = validate_currency(command.currency, "input.currency")
        elif len(order_currencies) == 1:
            currency = order_currencies.pop()  # a return of an order is in the order's currency
        else:
            currency = configuration["currency"]
        if command.apply_return_fee and currency != configuration["currency"]:
            raise BadUserInputError(
                f"applyReturnFee needs the configuration's currency {configuration['currency']}, "
                f"not {currency}.",
                "input.currency",
            )
        lines = _lines(command.lines, currency, "input.lines", order_lines)
        _check_customer_fields(
            caller,
            {
                "input.accept": command.accept,
                "input.returnWindowOverrideReason": command.return_window_override_reason is not None,
                "input.applyReturnFee": command.apply_return_fee,
                "input.autoGenerateFinancialResolution": command.auto_generate_financial_resolution
                is not None,
                "input.autoExecuteFinancialResolution": command.auto_execute_financial_resolution is not None,
                "input.retainedAmountForShipping": command.retained_amount_for_shipping is not None,
                **{f"input.lines[{i}].price": line.price is not None for i, line in enumerate(command.lines)},
            },
        )
        retained = (
            to_minor(command.retained_amount_for_shipping, currency, "input.retainedAmountForShipping")
            if command.retained_amount_for_shipping is not None
            else configuration["retained_amount_for_shipping"]
        )
        if command.id is not None:
            taken = await conn.execute(select(t.rma_order.c.id).where(t.rma_order.c.id == command.id))
            if taken.first() is not None:
                raise BadUserInputError(f"An RMA order with id {command.id} already exists.", "input.id")
        if command.external_id is not None:
            existing = await _existing_by_external_id(
                conn, organization_id, command.tp_app_id, command.external_id
            )
            if existing is not None:
                raise _duplicate_external_id(existing)
        linked = _with_line_orders(command.linked_orders, order_lines, lines)
        policy = eligibility.policy_from_configuration(configuration)
        await _check_return(
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
        )

        refund_terms = await _refund_terms(
            conn,
            organization_id,
            linked,
            currency,
            on_partial=configuration["refund_shipping_on_partial_return"],
            on_complete=configuration["refund_shipping_on_complete_return"],
        )
        rma_id = command.id or str(uuid.uuid4())
        rma, events = RmaOrder.create(
            id=rma_id,
            expected_resolution=command.expected_resolution,
            currency=currency,
            lines=lines,
            retained_amount_for_shipping=retained,
            apply_return_fee=command.apply_return_fee,
            # The fee in force when the return is created: later edits never change it.
            return_fee=configuration["return_fee"],
            auto_generate_financial_resolution=_default(
                command.auto_generate_financial_resolution,
                configuration["auto_generate_financial_resolution"],
            ),
            auto_execute_financial_resolution=_default(
                command.auto_execute_financial_resolution,
                configuration["auto_execute_financial_resolution"],
            ),
            refund_terms=refund_terms,
            accept=command.accept,
            now=now,
        )
        return_number = await repo.next_return_number(conn, organization_id)
        issued_at = command.issued_at or now
        return_reference = f"RMA-{issued_at.year}-{return_number}"
        written = await repo.insert_rma(
            conn,
            {
                "id": rma_id,
                "organization_id": organization_id,
                "configuration_id": configuration["id"],
                "location_id": configuration["location_id"],
                "return_number": return_number,
                "return_reference": return_reference,
                "external_id": command.external_id,
                "external_reference": command.external_reference,
                "tp_app_id": command.tp_app_id,
                "tp_app_key": command.tp_app_id or "",
                "return_slip_url": command.return_slip_url,
                "currency": currency,
                "return_fee": configuration["return_fee"],
                "delivery_contact": command.delivery_contact,
                "sender": command.sender,
                "owner": command.owner,
                "customer_id": caller.customer_id,
                "billing_contact": command.billing_contact,
                "received_at": command.received_at or now,
                "issued_at": issued_at,
                "comment": command.comment,
                "meta": command.meta,
                "search_text": search_text(
                    return_reference=return_reference,
                    external_id=command.external_id,
                    external_reference=command.external_reference,
                    sender=command.sender,
                    skus=[line.sku for line in lines],
                ),
                "last_event_sequence": len(events),
                "policy": policy.to_json(),
                "refund_terms": refund_terms.to_json(),
                "return_window_override_reason": command.return_window_override_reason,
                "created_at": now,
                "updated_at": now,
            },
            rma,
        )
        linked_orders = await repo.replace_linked_orders(conn, organization_id, rma_id, linked, first=True)
        await change.rma_orders.record(rma, written, events, first_sequence=1, linked_orders=linked_orders)
    return rma_id


def _check_customer_fields(caller: Caller, given: Mapping[str, bool]) -> None:
    """A customer may not set the fields reserved for staff (money, acceptance)."""
    if caller.customer_id is None:
        return
    for path, is_set in given.items():
        if is_set:
            name = path.rsplit(".", 1)[-1]
            raise ForbiddenError(f"A customer may not set {name}.", field=path)


def _default(value: bool | None, fallback: bool) -> bool:
    return fallback if value is None else value


async def owner_of(uow: UnitOfWork, caller: Caller, table: Any, child_id: str, kind: str) -> str:
    """The id of the RMA order that a child (a line, a shipment, a resolution) belongs to,
    in the caller's organization; NOT_FOUND otherwise."""
    async with uow.read() as conn:
        found = await conn.execute(
            select(table.c.rma_order_id).where(
                table.c.id == child_id, table.c.organization_id == caller.organization_id
            )
        )
        rma_id: str | None = found.scalar_one_or_none()
    if rma_id is None:
        raise NotFoundError(f"{kind} {child_id} not found.", child_id)
    return rma_id


ChildWriter = Callable[[AsyncConnection, Mapping[Any, Any], int, datetime], Awaitable[None]]
Check = Callable[[AsyncConnection, RmaOrder, Mapping[Any, Any], datetime], Awaitable[None]]
Step = Callable[[AsyncConnection, RmaOrder, Mapping[Any, Any], datetime], Awaitable[list[RecordedEvent]]]


async def apply_change(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    action: Action,
    expected_version: int | None,
    apply: Callable[[RmaOrder, datetime], list[RecordedEvent]],
    write: ChildWriter | None = None,
    check: Check | None = None,
) -> str:
    """A change to an RMA order by a function of the aggregate, with its checks that read
    (``check``, on the RMA as read) and the rows it adds beside the RMA (``write``, given
    the RMA's row as read and the first event's sequence)."""

    async def step(
        conn: AsyncConnection, rma: RmaOrder, row: Mapping[Any, Any], now: datetime
    ) -> list[RecordedEvent]:
        before = copy.deepcopy(rma) if check is not None else rma
        events = apply(rma, now)
        if check is not None:
            await check(conn, before, row, now)
        return events

    return await change_rma(uow, caller, rma_id, action, expected_version, step, write)


async def change_rma(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    action: Action,
    expected_version: int | None,
    step: Step,
    write: ChildWriter | None = None,
    *,
    lock: bool = False,
) -> str:
    """``apply_change`` with a step that may read and write in the transaction (a payment)."""
    async with uow.change(caller) as change:
        rma = await change.rma_orders.get(rma_id, lock=lock)
        caller.check_may(action, rma.processing_status)
        rma.check_version(expected_version)
        row = change.rma_orders.row(rma_id)
        events = await step(change.conn, rma, row, change.now)
        if write is not None:
            await write(change.conn, row, change.rma_orders.next_sequence(rma_id), change.now)
        await change.rma_orders.save(rma, events)
    return rma_id


async def _recheck_return(change: Change, rma: RmaOrder) -> None:
    """At submit, the policy snapshotted at creation applies again, now."""
    row = change.rma_orders.row(rma.id)
    if row["policy"] is None:
        return  # created before policies were kept
    linked = await repo.linked_order_rows(change.conn, rma.id)
    await _check_return(
        change.conn,
        row["organization_id"],
        ReturnPolicy.from_json(row["policy"]),
        expected_resolution=rma.expected_resolution,
        lines=rma.lines,
        linked=repo.linked_pairs(linked),
        override_reason=row["return_window_override_reason"],
        exclude_rma_id=rma.id,
        prefix="",
        now=change.now,
    )


async def perform_action(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    action: Action,
    *,
    expected_version: int | None = None,
    **params: Any,
) -> str:
    """Run one state-machine action on an RMA order in its own transaction."""
    async with uow.change(caller) as change:
        # Completing pays generated resolutions: concurrent completions queue on the row.
        lock = action is Action.COMPLETE_PROCESSING
        rma = await change.rma_orders.get(rma_id, lock=lock)
        caller.check_may(action, rma.processing_status)
        rma.check_version(expected_version)
        known = {resolution.id for resolution in rma.financial_resolutions}
        events = rma.perform(action, now=change.now, **params)
        if action is Action.SUBMIT:
            await _recheck_return(change, rma)
        if action is Action.COMPLETE_PROCESSING:
            events += await _pay_generated_resolutions(change, rma, known)
        await change.rma_orders.save(rma, events)
    return rma_id


async def _pay_generated_resolutions(change: Change, rma: RmaOrder, known: set[str]) -> list[RecordedEvent]:
    """With ``autoExecuteFinancialResolution``, the resolution completing generated (any
    not ``known`` before) is paid at once, through its provider, by the system."""
    if not rma.auto_execute_financial_resolution:
        return []
    row = change.rma_orders.row(rma.id)
    paid: list[RecordedEvent] = []
    for resolution in list(rma.financial_resolutions):
        if resolution.id not in known:
            paid += await payments.execute(
                change.conn, row, rma, resolution.id, None, change.now, system=True
            )
    return paid


COMMENT_MAX_LENGTH = 10_000


async def add_comment(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    text: str,
    visibility: CommentVisibility,
    *,
    expected_version: int | None = None,
) -> str:
    """Add a comment to an RMA order: one COMMENT_ADDED event and a new version."""

    async def write(conn: AsyncConnection, row: Mapping[Any, Any], sequence: int, now: datetime) -> None:
        await repo.insert_comment(
            conn,
            organization_id=caller.organization_id,
            rma_id=rma_id,
            sequence=sequence,
            text=text,
            visibility=visibility.value,
            author=caller.actor,
            now=now,
        )

    return await apply_change(
        uow,
        caller,
        rma_id,
        Action.ADD_COMMENT,
        expected_version,
        lambda rma, now: rma.add_comment(text, visibility),
        write,
    )


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
        _check_customer_fields(
            caller,
            {
                f"input.{camel}": name in changes
                for name, camel in (
                    ("apply_return_fee", "applyReturnFee"),
                    ("auto_generate_financial_resolution", "autoGenerateFinancialResolution"),
                    ("auto_execute_financial_resolution", "autoExecuteFinancialResolution"),
                    ("retained_amount_for_shipping", "retainedAmountForShipping"),
                    ("return_window_override_reason", "returnWindowOverrideReason"),
                )
            }
            | {
                f"input.lines[{i}].price": line.price is not None
                for i, line in enumerate(changes.get("lines") or [])
            },
        )
        rma.check_version(expected_version)
        currency = rma.currency
        policy_applies = bool(
            {"lines", "linked_orders", "expected_resolution", "return_window_override_reason"}
            & changes.keys()
        )
        domain_changes: dict[str, Any] = {}
        columns: dict[str, Any] = {}
        # The orders of the lines are linked again only when lines or linked orders change.
        relink = "lines" in changes or "linked_orders" in changes
        commands: list[LineCommand] | None = changes.pop("lines", None)
        order_lines: Mapping[str, Mapping[Any, Any]] = {}
        if relink:
            named = commands if commands is not None else rma.lines
            order_lines = await eligibility.order_lines(
                conn, organization_id, [line.order_line_id for line in named if line.order_line_id]
            )
        if commands is not None:
            domain_changes["lines"] = _lines(commands, currency, "input.lines", order_lines)
        if "retained_amount_for_shipping" in changes:
            domain_changes["retained_amount_for_shipping"] = to_minor(
                changes.pop("retained_amount_for_shipping"), currency, "input.retainedAmountForShipping"
            )
        for name in (
            "expected_resolution",
            "apply_return_fee",
            "auto_generate_financial_resolution",
            "auto_execute_financial_resolution",
        ):
            if name in changes:
                domain_changes[name] = changes.pop(name)
        previous_linked = await repo.linked_order_rows(conn, rma_id)
        previous_pairs = repo.linked_pairs(previous_linked)
        linked = changes.pop("linked_orders", previous_pairs)
        columns.update(changes)
        if "external_id" in columns and columns["external_id"] is not None:
            existing = await _existing_by_external_id(
                conn, organization_id, row["tp_app_id"], columns["external_id"]
            )
            if existing is not None and existing != rma_id:
                raise _duplicate_external_id(existing)
        events = rma.perform(Action.UPDATE, now=now, **domain_changes)
        if relink:
            linked = _with_line_orders(linked, order_lines, rma.lines)
        if policy_applies and row["policy"] is not None:
            await _check_return(
                conn,
                organization_id,
                ReturnPolicy.from_json(row["policy"]),
                expected_resolution=rma.expected_resolution,
                lines=rma.lines,
                linked=linked,
                override_reason=columns.get(
                    "return_window_override_reason", row["return_window_override_reason"]
                ),
                exclude_rma_id=rma_id,
                prefix="input.",
                now=now,
            )
        linked_orders = previous_linked
        unlinked: set[str] = set()
        if relink:
            terms = rma.refund_terms
            rma.refund_terms = await _refund_terms(
                conn,
                organization_id,
                linked,
                currency,
                on_partial=terms.refund_shipping_on_partial_return,
                on_complete=terms.refund_shipping_on_complete_return,
            )
            columns["refund_terms"] = rma.refund_terms.to_json()
        if linked != previous_pairs:
            linked_orders = await repo.replace_linked_orders(conn, organization_id, rma_id, linked)
            unlinked = {order["order_id"] for order in previous_linked} - {order_id for order_id, _ in linked}
        merged = {**row, **columns}
        columns["search_text"] = search_text(
            return_reference=row["return_reference"],
            external_id=merged["external_id"],
            external_reference=merged["external_reference"],
            sender=merged["sender"],
            skus=[line.sku for line in rma.lines],
        )
        await change.rma_orders.save(
            rma,
            events,
            columns=columns,
            lines_replaced="lines" in domain_changes,
            linked_orders=linked_orders,
            unlinked_orders=unlinked,
        )
    return rma_id
