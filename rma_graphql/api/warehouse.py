"""GraphQL for the warehouse and finance: receiving, inspection, replacement orders,
financial resolutions and vouchers."""

import strawberry

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.enums import (
    RmaDisposition,
    RmaFinancialResolutionType,
    RmaInspectionResult,
    RmaOrderProductState,
)
from rma_graphql.api.inputs import LONG_TEXT, MAX_QUANTITY, command_fields_under, parse_uuid, text
from rma_graphql.api.money_types import RmaFinancialResolutionRequest, Voucher
from rma_graphql.api.permissions import scoped
from rma_graphql.api.rma_actions import DryRun
from rma_graphql.api.rma_order_type import RmaOrderType, rma_payload
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service import queries
from rma_graphql.service import resolutions as resolution_service
from rma_graphql.service import warehouse as warehouse_service


def _quantity(value: int, field: str) -> int:
    if not 1 <= value <= MAX_QUANTITY:
        raise BadUserInputError(f"A quantity is between 1 and {MAX_QUANTITY}.", field)
    return value


@strawberry.input
class RmaLineInspectionInput:
    quantity: int = strawberry.field(description="Received units of the line this inspection covers.")
    result: RmaInspectionResult
    disposition: RmaDisposition = strawberry.field(description="RESTOCK needs result ACCEPTED.")
    product_state: RmaOrderProductState | None = None
    notes: str | None = None

    def to_command(self) -> warehouse_service.InspectCommand:
        return warehouse_service.InspectCommand(
            quantity=_quantity(self.quantity, "input.quantity"),
            result=self.result,
            disposition=self.disposition,
            product_state=self.product_state,
            notes=text(self.notes, "input.notes", LONG_TEXT),
        )


@strawberry.input
class RmaReplacementLineInput:
    sku: str
    quantity: int


@strawberry.input
class RmaFinancialResolutionInput:
    type: RmaFinancialResolutionType
    amount: float | None = strawberry.field(
        default=None, description="Defaults to what remains due (rmaOrder.remainingDue)."
    )


@strawberry.type
class WarehouseMutation:
    @strawberry.mutation(
        description="Record received units of a line (while PROCESSING). Units beyond the line's quantity "
        "are kept as surplus and flag an ANOMALY (actor SYSTEM).",
        **scoped(access.PROCESS_RMA_ORDERS),
    )
    async def rma_order_line_receive(
        self,
        info: RmaInfo,
        rma_order_id: str,
        line_id: str,
        quantity: int,
        serial_numbers: list[str] | None = None,
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(rma_order_id, "rmaOrderId")
        line = parse_uuid(line_id, "lineId")
        with ctx.uow.dry_run(dry_run):
            await warehouse_service.receive_line(
                ctx.uow,
                ctx.authenticated,
                rma_id,
                line,
                _quantity(quantity, "quantity"),
                list(serial_numbers or []),
                expected_version=expected_version,
            )
        return await rma_payload(info, rma_id)

    @strawberry.mutation(
        description="Inspect received units of a line: accepted or rejected, and what becomes of them. "
        "RESTOCK adds the units to the SKU's stock at the RMA's location, once.",
        **scoped(access.PROCESS_RMA_ORDERS),
    )
    async def rma_order_line_inspect(
        self,
        info: RmaInfo,
        line_id: str,
        input: RmaLineInspectionInput,
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        ctx = context_of(info)
        line = parse_uuid(line_id, "lineId")
        with ctx.uow.dry_run(dry_run), command_fields_under("input"):
            rma_id = await warehouse_service.inspect_line(
                ctx.uow, ctx.authenticated, line, input.to_command(), expected_version=expected_version
            )
        return await rma_payload(info, rma_id)

    @strawberry.mutation(
        description="Create a free sales order replacing the returned goods (expectedResolution REPLACE), "
        "its units reserved from the stock of the RMA's location; refused when stock is short.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_order_create_replacement_order(
        self,
        info: RmaInfo,
        id: str,
        lines: list[RmaReplacementLineInput],
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaOrderType:
        ctx = context_of(info)
        rma_id = parse_uuid(id, "id")
        commands = [
            warehouse_service.ReplacementLine(
                sku=text(line.sku, f"lines[{i}].sku", required=True) or "",
                quantity=_quantity(line.quantity, f"lines[{i}].quantity"),
            )
            for i, line in enumerate(lines)
        ]
        with ctx.uow.dry_run(dry_run):
            await warehouse_service.create_replacement_order(
                ctx.uow, ctx.authenticated, rma_id, commands, expected_version=expected_version
            )
        return await rma_payload(info, rma_id)


async def _resolution(info: RmaInfo, resolution_id: str) -> RmaFinancialResolutionRequest:
    ctx = context_of(info)
    row = await queries.resolution_row(ctx.uow, ctx.authenticated.organization_id, resolution_id)
    if row is None:
        raise NotFoundError(f"Financial resolution {resolution_id} not found.", resolution_id)
    return RmaFinancialResolutionRequest.from_row(row)


@strawberry.type
class MoneyMutation:
    @strawberry.mutation(
        description="Create a PENDING refund or voucher, by default for what remains due; only while "
        "PROCESSING with every received unit inspected, or COMPLETE.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_financial_resolution_create(
        self,
        info: RmaInfo,
        rma_order_id: str,
        input: RmaFinancialResolutionInput,
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaFinancialResolutionRequest:
        ctx = context_of(info)
        rma_id = parse_uuid(rma_order_id, "rmaOrderId")
        with ctx.uow.dry_run(dry_run), command_fields_under("input"):
            resolution_id = await resolution_service.create_resolution(
                ctx.uow,
                ctx.authenticated,
                rma_id,
                input.type,
                input.amount,
                expected_version=expected_version,
            )
        return await _resolution(info, resolution_id)

    @strawberry.mutation(
        description="Pay a PENDING resolution, or retry a FAILED one, through its provider: manual records "
        "the external payment reference, voucher issues a voucher. Paid once, however often it is called.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_financial_resolution_execute(
        self,
        info: RmaInfo,
        id: str,
        reference: str | None = None,
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaFinancialResolutionRequest:
        ctx = context_of(info)
        resolution_id = parse_uuid(id, "id")
        with ctx.uow.dry_run(dry_run):
            await resolution_service.execute_resolution(
                ctx.uow,
                ctx.authenticated,
                resolution_id,
                text(reference, "reference", required=reference is not None),
                expected_version=expected_version,
            )
        return await _resolution(info, resolution_id)

    @strawberry.mutation(
        description="Reject a PENDING or FAILED resolution: it will not be paid.",
        **scoped(access.EDIT_RMA_ORDERS),
    )
    async def rma_financial_resolution_reject(
        self,
        info: RmaInfo,
        id: str,
        reason: str | None = None,
        expected_version: int | None = None,
        dry_run: DryRun = False,
    ) -> RmaFinancialResolutionRequest:
        ctx = context_of(info)
        resolution_id = parse_uuid(id, "id")
        with ctx.uow.dry_run(dry_run):
            await resolution_service.reject_resolution(
                ctx.uow,
                ctx.authenticated,
                resolution_id,
                text(reason, "reason", 2000),
                expected_version=expected_version,
            )
        return await _resolution(info, resolution_id)

    @strawberry.mutation(
        description="Redeem a voucher, once, for at most its amount (in its currency).",
        **scoped(access.EDIT_VOUCHERS),
    )
    async def voucher_redeem(self, info: RmaInfo, code: str, amount: float) -> Voucher:
        ctx = context_of(info)
        text(code, "code", 40, required=True)
        redeemed = await resolution_service.redeem_voucher(ctx.uow, ctx.authenticated, code, amount)
        row = await resolution_service.voucher_row(ctx.uow, ctx.authenticated, redeemed)
        assert row is not None
        return Voucher.from_row(row)


@strawberry.type
class MoneyQuery:
    @strawberry.field(description="A voucher, by its code.", **scoped(access.VIEW_VOUCHERS))
    async def voucher(self, info: RmaInfo, code: str) -> Voucher | None:
        ctx = context_of(info)
        text(code, "code", 40, required=True)
        row = await resolution_service.voucher_row(ctx.uow, ctx.authenticated, code)
        return Voucher.from_row(row) if row is not None else None
