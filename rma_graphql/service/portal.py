"""The return portal's guest way in: an order found by its reference and its customer's
email gives a short-lived token for that order and the returns made with it."""

from rma_graphql.db import account_repository as store
from rma_graphql.domain.access import ROLE_SCOPES, Role
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import ActorType
from rma_graphql.service.accounts import Accounts, IssuedToken
from rma_graphql.service.unit_of_work import UnitOfWork

# One answer whether the reference or the email is wrong: a guess learns nothing.
NO_MATCH = "No order matches this reference and email."


async def look_up_order(
    uow: UnitOfWork, accounts: Accounts, organization_id: str, reference: str, email: str
) -> tuple[IssuedToken, str]:
    """A CUSTOMER token scoped to the order (its id is the token's subject, so the returns it
    creates are that order's guest's), valid ``portal_token_ttl_seconds``; and the order id."""
    async with uow.read() as conn:
        found = await store.order_for_lookup(conn, organization_id, reference.strip(), email.strip())
    if found is None:
        raise BadUserInputError(NO_MATCH, "orderReference")
    token = accounts.issue(
        organization_id=organization_id,
        subject=found["id"],
        kind=ActorType.USER,
        name=email.strip(),
        scopes=ROLE_SCOPES[Role.CUSTOMER],
        role=Role.CUSTOMER,
        customer_id=found["customer_id"],
        order_id=found["id"],
        ttl_seconds=accounts.portal_token_ttl_seconds,
    )
    return token, found["id"]
