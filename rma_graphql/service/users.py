"""Users: made (the command line, sign-up, the demo), their names, emails and passwords
checked, and which catalog customer a CUSTOMER user is."""

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import account_repository as store
from rma_graphql.db.catalog_repository import CatalogRepository
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service.records import AppUserRecord, record
from rma_graphql.service.unit_of_work import UnitOfWork

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024
_USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{3,150}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def check_username(username: str, field: str) -> None:
    if not _USERNAME.match(username):
        raise BadUserInputError("A username has 3 to 150 letters, digits or the characters _ . @ + -.", field)


def check_email(email: str, field: str) -> None:
    if len(email) > 320 or not _EMAIL.match(email):
        raise BadUserInputError("The email address is not valid.", field)


def check_password(password: str, field: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise BadUserInputError(
            f"A password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.", field
        )


async def create_user(
    uow: UnitOfWork,
    *,
    organization_id: str,
    username: str,
    email: str,
    password_hash: str,
    role: Role,
) -> Mapping[str, Any]:
    """A user of the organization; a CUSTOMER is linked to the catalog customer with its
    email (case-folded) when there is one."""
    check_username(username, "input.username")
    check_email(email, "input.email")
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organization_id": organization_id,
        "username": username,
        "username_key": username.casefold(),
        "email": email,
        "password_hash": password_hash,
        "role": role.value,
        "created_at": datetime.now(UTC),
        "customer_id": None,
        "active": True,
        "tokens_valid_after": None,
        "kept_token_id": None,
    }
    taken = BadUserInputError(f"The username {username!r} is taken.", "input.username")
    try:
        async with uow.transaction() as conn:
            if not await store.organization_exists(conn, organization_id):
                raise BadUserInputError(f"Unknown organization {organization_id}.", "input.organizationId")
            if await store.user_by_username(conn, username.casefold()) is not None:
                raise taken
            if role is Role.CUSTOMER:
                values["customer_id"] = await store.customer_with_email(conn, organization_id, email)
            await store.add_user(conn, values)
    except DuplicateRowError:
        raise taken from None  # a concurrent sign-up took it between the check and the insert
    return values


async def user(uow: UnitOfWork, caller: Caller, user_id: str) -> AppUserRecord | None:
    async with uow.read() as conn:
        found = await store.user(conn, caller.organization_id, user_id)
    return None if found is None else record(AppUserRecord, found)


async def link_customer(
    uow: UnitOfWork, caller: Caller, user_id: str, customer_id: str | None
) -> AppUserRecord:
    """Link a CUSTOMER user to a catalog customer (``None``: unlink). Its returns and orders
    are that customer's from then on; the tokens it holds end, since they name the old link."""
    async with uow.transaction() as conn:
        found = await store.user(conn, caller.organization_id, user_id)
        if found is None:
            raise NotFoundError(f"User {user_id} not found.", user_id)
        if found["role"] != Role.CUSTOMER.value:
            raise BadUserInputError(
                f"Only a CUSTOMER user is linked to a customer; this one is {found['role']}.", "userId"
            )
        catalog = CatalogRepository(conn, caller.organization_id)
        if customer_id is not None and await catalog.row("customers", customer_id) is None:
            raise BadUserInputError(f"Unknown customer {customer_id}.", "customerId")
        await store.link_customer(conn, user_id, customer_id)
        linked = await store.user(conn, caller.organization_id, user_id)
    assert linked is not None
    return record(AppUserRecord, linked)


async def users(uow: UnitOfWork, caller: Caller) -> list[AppUserRecord]:
    async with uow.read() as conn:
        return [record(AppUserRecord, row) for row in await store.users(conn, caller.organization_id)]


async def update_user(
    uow: UnitOfWork, caller: Caller, user_id: str, *, role: Role | None, active: bool | None
) -> AppUserRecord:
    """A staff user's role, or any user's active flag. The tokens the user holds end; a
    deactivated user cannot log in. Nobody changes their own account this way."""
    if caller.actor.get("id") == user_id:
        raise BadUserInputError("You cannot change your own role or deactivate yourself.", "id")
    async with uow.transaction() as conn:
        found = await store.user(conn, caller.organization_id, user_id)
        if found is None:
            raise NotFoundError(f"User {user_id} not found.", user_id)
        values: dict[str, Any] = {}
        if role is not None and role.value != found["role"]:
            if Role.CUSTOMER in (role, Role(found["role"])):
                raise BadUserInputError(
                    "A customer account stays a customer's; staff roles change among ADMIN, AGENT and "
                    "INSPECTOR.",
                    "role",
                )
            values["role"] = role.value
        if active is not None and active != found["active"]:
            values["active"] = active
        if values:
            await store.change_user(conn, user_id, {**values, "tokens_valid_after": datetime.now(UTC)})
        changed = await store.user(conn, caller.organization_id, user_id)
    assert changed is not None
    return record(AppUserRecord, changed)


async def set_password(uow: UnitOfWork, user_id: str, password_hash: str, kept_token_id: str | None) -> None:
    """A new password hash; every token the user holds ends but ``kept_token_id``."""
    values = {
        "password_hash": password_hash,
        "tokens_valid_after": datetime.now(UTC),
        "kept_token_id": kept_token_id,
    }
    async with uow.transaction() as conn:
        await store.change_user(conn, user_id, values)
