"""Locations and RMA configurations."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from rma_graphql.db import tables as t
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
        await conn.execute(
            insert(t.location).values(
                id=location_id,
                organization_id=caller.organization_id,
                name=name,
                type=type.value,
                contact=contact,
                created_at=datetime.now(UTC),
            )
        )
    return location_id


async def update_location(
    uow: UnitOfWork, caller: Caller, location_id: str, values: Mapping[str, Any]
) -> None:
    """Rename a location or set its contact (the address return slips ship to)."""
    owned = (t.location.c.id == location_id, t.location.c.organization_id == caller.organization_id)
    async with uow.transaction() as conn:
        if (await conn.execute(select(t.location.c.id).where(*owned))).first() is None:
            raise NotFoundError(f"Location {location_id} not found.", location_id)
        if values:
            await conn.execute(update(t.location).where(*owned).values(**values))


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
            located = await conn.execute(
                select(t.location.c.id).where(
                    t.location.c.id == location_id, t.location.c.organization_id == caller.organization_id
                )
            )
            if located.first() is None:
                raise BadUserInputError(f"Unknown location {location_id}.", "input.locationId")
            existing = await conn.execute(
                select(t.rma_configuration.c.id).where(t.rma_configuration.c.location_id == location_id)
            )
            if existing.first() is not None:
                raise taken
            await conn.execute(
                insert(t.rma_configuration).values(
                    id=configuration_id,
                    organization_id=caller.organization_id,
                    created_at=now,
                    updated_at=now,
                    **_configuration_columns(values, currency),
                )
            )
    except IntegrityError:
        raise taken from None  # a concurrent create configured the location first
    return configuration_id


async def update_configuration(
    uow: UnitOfWork, caller: Caller, configuration_id: str, values: dict[str, Any]
) -> str:
    async with uow.transaction() as conn:
        result = await conn.execute(
            select(t.rma_configuration).where(
                t.rma_configuration.c.id == configuration_id,
                t.rma_configuration.c.organization_id == caller.organization_id,
            )
        )
        current = result.mappings().first()
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
            await conn.execute(
                update(t.rma_configuration)
                .where(t.rma_configuration.c.id == configuration_id)
                .values(updated_at=datetime.now(UTC), **_configuration_columns(values, currency))
            )
    return configuration_id


async def update_organization(uow: UnitOfWork, caller: Caller, values: dict[str, Any]) -> None:
    """Change the caller's organization's name or sign-up setting."""
    if not values:
        return
    async with uow.transaction() as conn:
        await conn.execute(
            update(t.organization).where(t.organization.c.id == caller.organization_id).values(**values)
        )
