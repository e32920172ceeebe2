"""Users as staff manage them: which catalog customer a CUSTOMER user is."""

from rma_graphql.db import account_repository as store
from rma_graphql.db.catalog_repository import CatalogRepository
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service.records import AppUserRecord, record
from rma_graphql.service.unit_of_work import UnitOfWork


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
