"""Personal data: erasing a customer (customerErase) or the people of one RMA order
(rmaOrderAnonymize), and exporting everything held about a customer (customerExport).

An erasure replaces names, addresses, emails, phones and free text by a marker in the rows
themselves and in every copy of them: events, revisions, comments, webhook and notification
delivery bodies, stored idempotent answers; uploaded pictures are deleted. Amounts, SKUs and
statuses stay, for accounting. Each RMA order erased gets a new version and an ANONYMIZED
event naming who erased it.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rma_graphql.db import personal_data as store
from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import NotFoundError
from rma_graphql.domain.personal_data import (
    MARKER,
    Scrubber,
    anonymized,
    contact_values,
    erased_contact,
    strings_of,
)
from rma_graphql.service.return_requests import search_text
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.uploads import Storage

logger = logging.getLogger(__name__)

CONTACTS = ("sender", "delivery_contact", "owner", "billing_contact")


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    rma_order_ids: list[str]
    user_ids: list[str]


def _row_values(row: Mapping[str, Any]) -> set[str]:
    """The personal values of an RMA order's row: its contacts, comment, meta, override reason."""
    values: set[str] = set()
    for name in CONTACTS:
        values |= contact_values(row[name])
    values |= set(strings_of(row["meta"]))
    values |= {str(row[name]) for name in ("comment", "return_window_override_reason") if row[name]}
    return values


def _erased_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    erased: dict[str, Any] = {name: erased_contact(row[name]) for name in CONTACTS}
    for name in ("comment", "return_window_override_reason"):
        erased[name] = MARKER if row[name] else row[name]
    erased["meta"] = None if row["meta"] is None else Scrubber(strings_of(row["meta"])).json(row["meta"])
    erased["search_text"] = search_text(
        return_reference=row["return_reference"],
        external_id=row["external_id"],
        external_reference=row["external_reference"],
        sender=erased["sender"] or {},
        skus=[],
    )
    return erased


async def anonymize_rma(
    uow: UnitOfWork,
    caller: Caller,
    rma_id: str,
    storage: Storage | None,
    *,
    also: Iterable[str] = (),
    expected_version: int | None = None,
    answers: bool = True,
) -> set[str]:
    """Erase the people of one RMA order (and ``also`` these values wherever it holds them),
    and with ``answers`` their copies in the stored idempotent answers (an erasure of many
    RMA orders scrubs those once, at its end); the values erased."""
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.ANONYMIZE, expected_version=expected_version)
        row = change.rma_orders.row(rma_id)
        links = await store.pictures(change.conn, [rma_id])
        values = _row_values(row) | set(also) | links | await store.free_texts(change.conn, [rma_id])
        await change.rma_orders.save(rma, anonymized(caller.actor), columns=_erased_columns(row))
        scrubber = Scrubber(values)
        await store.scrub_rmas(change.conn, caller.organization_id, [rma_id], scrubber)
        if answers:
            await store.scrub_answers(change.conn, caller.organization_id, scrubber)
        keys = await store.forget_uploads(change.conn, caller.organization_id, store.upload_keys(links))
    await _delete_files(storage, keys)
    return values


async def _delete_files(storage: Storage | None, keys: Iterable[str]) -> None:
    """The files of forgotten uploads (their records are gone with the erasure's commit)."""
    if storage is None:
        return
    for key in keys:
        try:
            await storage.delete(key)
        except OSError:
            logger.warning("an erased picture's file could not be deleted", extra={"key": key})


@dataclass(frozen=True)
class _Person:
    """A catalog customer and what is held about it elsewhere."""

    customer: Mapping[Any, Any]
    users: Sequence[Mapping[Any, Any]]
    order_ids: list[str]
    emails: set[str]
    rma_ids: list[str]

    @property
    def user_ids(self) -> list[str]:
        return [str(user["id"]) for user in self.users]


async def _person(conn: Any, organization_id: str, customer_id: str) -> _Person:
    """The customer, its users and orders, its emails and the RMA orders it made (as a user),
    of its orders, or sent from its email."""
    customer = await store.customer(conn, organization_id, customer_id)
    if customer is None:
        raise NotFoundError(f"Customer {customer_id} not found.", customer_id)
    users = list(await store.linked_users(conn, organization_id, customer_id))
    orders = await store.orders_of(conn, organization_id, customer_id)
    emails = {str(email).casefold() for email in [customer["email"], *(u["email"] for u in users)] if email}
    emails.discard(MARKER)
    user_ids = [str(user["id"]) for user in users]
    rma_ids = await store.rmas_of(conn, organization_id, user_ids, orders, emails)
    return _Person(customer, users, orders, emails, rma_ids)


async def erase_customer(
    uow: UnitOfWork, caller: Caller, customer_id: str, storage: Storage | None
) -> Erasure:
    """Erase a catalog customer, every CUSTOMER user linked to it, and the people of every RMA
    order it made (as a user), of its orders, or sent from its email."""
    organization_id = caller.organization_id
    async with uow.read() as conn:
        person = await _person(conn, organization_id, customer_id)
    customer = person.customer
    values = {str(customer[name]) for name in ("name", "email", "phone") if customer[name]}
    values |= set(strings_of(customer["address"])) | person.emails
    values |= {str(user["username"]) for user in person.users}
    erased = set(values)
    for rma_id in person.rma_ids:
        erased |= await anonymize_rma(uow, caller, rma_id, storage, also=values, answers=False)
    scrubber = Scrubber(erased)
    async with uow.transaction() as conn:
        await store.scrub_mails_to(conn, organization_id, person.emails, scrubber)
        await store.scrub_answers(conn, organization_id, scrubber)
        now = datetime.now(UTC)
        await store.erase_customer_rows(conn, organization_id, customer_id, person.users, MARKER, now)
    return Erasure(customer_id, person.rma_ids, person.user_ids)


def _plain(value: Any) -> Any:
    """A row's value as JSON can carry it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | memoryview):
        return None
    return value


async def export_customer(uow: UnitOfWork, caller: Caller, customer_id: str) -> dict[str, Any]:
    """Everything held about a customer: its record, its users (without their password
    hashes), its orders and their lines, and its RMA orders with their lines, events,
    comments, shipments, resolutions and pictures, and the mails sent to it."""
    organization_id = caller.organization_id
    async with uow.read() as conn:
        person = await _person(conn, organization_id, customer_id)
        orders, rma_ids = person.order_ids, person.rma_ids
        exported: dict[str, Any] = {
            "exportedAt": datetime.now(UTC).isoformat(),
            "customer": _plain(dict(person.customer)),
            "users": [
                _plain({k: v for k, v in u.items() if k not in ("password_hash", "username_key")})
                for u in person.users
            ],
            "orders": _plain(await store.rows_by(conn, t.sales_order, "id", orders)),
            "orderLines": _plain(await store.rows_by(conn, t.sales_order_line, "order_id", orders)),
            "mails": _plain(await store.mails_to(conn, organization_id, person.emails)),
        }
        for name in store.EXPORTED_RMA_TABLES:
            table = t.metadata.tables[name]
            column = "id" if name == "rma_order" else "rma_order_id"
            exported[name] = _plain(await store.rows_by(conn, table, column, rma_ids))
    return exported
