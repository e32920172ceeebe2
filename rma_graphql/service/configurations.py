"""Locations and RMA configurations."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.db.organization_repository import OrganizationRepository
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.statuses import LocationType
from rma_graphql.service.currency import to_minor, validate_currency
from rma_graphql.service.unit_of_work import UnitOfWork

# The contract's defaults for a new configuration.
CONFIGURATION_DEFAULTS: dict[str, Any] = {
    "auto_accept": False,
    "accept_multi": True,
    "needs_pictures": False,
    "request_product_state": False,
    "authorization_delay": None,
    "max_authorization_delay": None,
    "reason_lines": None,
    "expected_resolutions": None,
    "email_contact": None,
    "shop_url": None,
    "domain": None,
    "custom_css": None,
    "tp_app_ids": None,
    "auto_generate_financial_resolution": False,
    "auto_execute_financial_resolution": False,
    "retained_amount_for_shipping": 0,
    "refund_shipping_on_partial_return": False,
    "refund_shipping_on_complete_return": False,
    "currency": "EUR",
    "return_fee": 0,
    "voucher_validity_days": 365,
}


async def create_location(
    uow: UnitOfWork, caller: Caller, *, name: str, type: LocationType, contact: dict[str, Any] | None
) -> str:
    location_id = str(uuid.uuid4())
    async with uow.transaction() as conn:
        await OrganizationRepository(conn, caller.organization_id).add_location(
            {
                "id": location_id,
                "name": name,
                "type": type.value,
                "contact": contact,
                "created_at": datetime.now(UTC),
            }
        )
    return location_id


async def update_location(
    uow: UnitOfWork, caller: Caller, location_id: str, values: Mapping[str, Any]
) -> None:
    """Rename a location or set its contact (the address return slips ship to)."""
    async with uow.transaction() as conn:
        organization = OrganizationRepository(conn, caller.organization_id)
        if not await organization.has_location(location_id):
            raise NotFoundError(f"Location {location_id} not found.", location_id)
        if values:
            await organization.change_location(location_id, values)


def _configuration_columns(values: Mapping[str, Any], currency: str) -> dict[str, Any]:
    columns = dict(values)
    if "currency" in columns:
        columns["currency"] = currency
    for money in ("retained_amount_for_shipping", "return_fee"):
        if money in columns:
            amount = columns[money]
            columns[money] = 0 if amount is None else to_minor(amount, currency, f"input.{camel_case(money)}")
    return columns


def camel_case(name: str) -> str:
    """The GraphQL name of a column, for error paths."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def create_configuration(uow: UnitOfWork, caller: Caller, values: dict[str, Any]) -> str:
    configuration_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    currency = validate_currency(values.get("currency") or "EUR", "input.currency")
    values = {**CONFIGURATION_DEFAULTS, **values, "currency": currency}
    location_id = values["location_id"]
    taken = BadUserInputError(f"Location {location_id} already has an RMA configuration.", "input.locationId")
    try:
        async with uow.transaction() as conn:
            organization = OrganizationRepository(conn, caller.organization_id)
            if not await organization.has_location(location_id):
                raise BadUserInputError(f"Unknown location {location_id}.", "input.locationId")
            if await organization.is_configured(location_id):
                raise taken
            await organization.add_configuration(
                {
                    "id": configuration_id,
                    "created_at": now,
                    "updated_at": now,
                    **_configuration_columns(values, currency),
                }
            )
    except DuplicateRowError:
        raise taken from None  # a concurrent create configured the location first
    return configuration_id


async def update_configuration(
    uow: UnitOfWork, caller: Caller, configuration_id: str, values: dict[str, Any]
) -> str:
    async with uow.transaction() as conn:
        organization = OrganizationRepository(conn, caller.organization_id)
        current = await organization.configuration(configuration_id)
        if current is None:
            raise NotFoundError(f"RMA configuration {configuration_id} not found.", configuration_id)
        currency = (
            validate_currency(values["currency"], "input.currency")
            if values.get("currency")
            else current["currency"]
        )
        if "currency" in values and values["currency"] is None:
            values.pop("currency")
        if values:
            columns = _configuration_columns(values, currency)
            await organization.change_configuration(
                configuration_id, {"updated_at": datetime.now(UTC), **columns}
            )
    return configuration_id


async def update_organization(uow: UnitOfWork, caller: Caller, values: dict[str, Any]) -> None:
    """Change the caller's organization's name or sign-up setting."""
    if not values:
        return
    async with uow.transaction() as conn:
        await OrganizationRepository(conn, caller.organization_id).change(values)
