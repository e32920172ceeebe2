"""Accounts over GraphQL: signing up, logging in and out, and the organization's settings."""

from datetime import datetime
from typing import Any

import strawberry
import strawberry.tools

from rma_graphql.api.catalog import Customer
from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.inputs import (
    parse_uuid,
    text,
)
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import Organization, UserRole
from rma_graphql.domain import access
from rma_graphql.domain.access import Role
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service import accounts as accounts_service
from rma_graphql.service import configurations as configuration_service
from rma_graphql.service import organizations, password_resets, portal, queries, users
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.records import ApiClientRecord, AppUserRecord, record


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    email: str
    role: UserRole
    active: bool = strawberry.field(description="A deactivated user cannot log in; its tokens are refused.")
    created_at: datetime
    customer_id: strawberry.Private[str | None]
    # The user who logs in or signs up reads its own customer.
    is_caller: strawberry.Private[bool] = False

    @classmethod
    def from_row(cls, row: AppUserRecord, *, is_caller: bool = False) -> "User":
        return cls(
            id=strawberry.ID(row.id),
            username=row.username,
            email=row.email,
            role=UserRole(row.role),
            active=row.active,
            created_at=row.created_at,
            customer_id=row.customer_id,
            is_caller=is_caller,
        )

    @strawberry.field(
        description="A CUSTOMER user's catalog customer: its orders and returns are that customer's. "
        "Shown to staff who view customers, and to the user itself."
    )
    async def customer(self, info: RmaInfo) -> Customer | None:
        caller = context_of(info).caller
        if self.customer_id is None:
            return None
        shown = self.is_caller or (
            caller is not None
            and (access.VIEW_CUSTOMERS in caller.scopes or caller.catalog_customer_id == self.customer_id)
        )
        if not shown:
            return None
        found = await context_of(info).loaders.customers.load(self.customer_id)
        return None if found is None else Customer.from_row(found)


@strawberry.type
class AuthPayload:
    token: str
    expires_in: int = strawberry.field(description="Seconds until the token expires.")
    user: User


@strawberry.type(description="An API client (OAuth2 client credentials); its secret is never shown again.")
class ApiClient:
    id: strawberry.ID
    name: str
    scopes: list[str] | None = strawberry.field(description="null: every scope.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="When it last had a token issued.")

    @classmethod
    def from_row(cls, row: ApiClientRecord) -> "ApiClient":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            scopes=row.scopes,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="An API client and its new secret, shown this once.")
class ApiClientWithSecret:
    client: ApiClient
    secret: str


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The organization's API clients.", **scoped(access.VIEW_ORGANIZATIONS))
    async def api_clients(self, info: RmaInfo) -> list[ApiClient]:
        ctx = context_of(info)
        rows = await organizations.list_clients(ctx.uow, ctx.authenticated.organization_id)
        return [ApiClient.from_row(record(ApiClientRecord, row)) for row in rows]

    @strawberry.field(
        description="The organization's users, oldest first.", **scoped(access.VIEW_ORGANIZATIONS)
    )
    async def users(self, info: RmaInfo) -> list[User]:
        ctx = context_of(info)
        return [User.from_row(row) for row in await users.users(ctx.uow, ctx.authenticated)]


async def _own_client(info: RmaInfo, client_id: str) -> ApiClientRecord:
    ctx = context_of(info)
    found = await organizations.client_of(ctx.uow, ctx.authenticated.organization_id, client_id)
    if found is None:
        raise NotFoundError(f"API client {client_id} not found.", client_id)
    return found


@strawberry.type(description="A guest's way into the return portal: a token for one order and its returns.")
class PortalLookupPayload:
    token: str
    expires_in: int = strawberry.field(description="Seconds until the token expires.")
    order_id: str


@strawberry.input
class SignUpInput:
    username: str
    email: str
    password: str
    organization_id: str


@strawberry.input
class OrganizationUpdateInput:
    name: str | None = strawberry.UNSET
    allow_customer_sign_up: bool | None = strawberry.UNSET
    default_language: str | None = strawberry.UNSET


def _accounts(info: RmaInfo) -> accounts_service.Accounts:
    accounts = context_of(info).accounts
    assert accounts is not None, "the app's lifespan has not started"
    return accounts


async def _limit_email(info: RmaInfo, kind: str, email: str, what: str) -> None:
    """Requests naming one email are limited as one client address's are."""
    limiter = getattr(context_of(info).request.app.state, "address_limiter", None)
    if limiter is not None:
        decision = await limiter.hit(f"{kind}:{email.strip().casefold()}")
        if not decision.allowed:
            raise BadUserInputError(
                f"Too many {what} for this email; try again in {decision.reset} s.",
                "email",
                reason="RATE_LIMITED",
                retryAfter=decision.reset,
            )


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Sign up as a CUSTOMER of an organization; no token needed.")
    async def sign_up(self, info: RmaInfo, input: SignUpInput) -> AuthPayload:
        organization_id = parse_uuid(input.organization_id, "input.organizationId")
        issued, user = await _accounts(info).sign_up(
            username=input.username,
            email=input.email,
            password=input.password,
            organization_id=organization_id,
        )
        return AuthPayload(
            token=issued.token, expires_in=issued.expires_in, user=User.from_row(user, is_caller=True)
        )

    @strawberry.mutation(description="Log in with a username and password; no token needed.")
    async def log_in(self, info: RmaInfo, username: str, password: str) -> AuthPayload:
        text(username, "username", 150, required=True)
        issued, user = await _accounts(info).log_in(username, password)
        return AuthPayload(
            token=issued.token, expires_in=issued.expires_in, user=User.from_row(user, is_caller=True)
        )

    @strawberry.mutation(
        description="Find an order by its reference and its customer's email: a short-lived CUSTOMER token "
        "for that order and the returns made with it (no token needed; limited per client address and per "
        "email; the same refusal whether the reference or the email is wrong)."
    )
    async def portal_order_lookup(
        self, info: RmaInfo, organization_id: str, order_reference: str, email: str
    ) -> PortalLookupPayload:
        organization = parse_uuid(organization_id, "organizationId")
        text(order_reference, "orderReference", 100, required=True)
        text(email, "email", 320, required=True)
        await _limit_email(info, "lookup", email, "lookups")
        issued, order_id = await portal.look_up_order(
            context_of(info).uow, _accounts(info), organization, order_reference, email
        )
        return PortalLookupPayload(token=issued.token, expires_in=issued.expires_in, order_id=order_id)

    @strawberry.mutation(description="Revoke the token this request carries.")
    async def log_out(self, info: RmaInfo) -> bool:
        await _accounts(info).revoke(context_of(info).authenticated)
        return True

    @strawberry.mutation(
        description="Link a CUSTOMER user to a catalog customer (`customerId: null` unlinks it): its "
        "orders and returns are that customer's. The tokens the user holds end; it logs in again.",
        **scoped(access.EDIT_CUSTOMERS),
    )
    async def user_link_customer(self, info: RmaInfo, user_id: str, customer_id: str | None) -> User:
        ctx = context_of(info)
        user = parse_uuid(user_id, "userId")
        customer = parse_uuid(customer_id, "customerId") if customer_id is not None else None
        linked = await users.link_customer(ctx.uow, ctx.authenticated, user, customer)
        _accounts(info).recheck_subject(linked.id)
        return User.from_row(linked)

    @strawberry.mutation(
        description="Revoke an API client: its secret and every token it holds are refused from now on.",
        **scoped(access.EDIT_ORGANIZATIONS),
    )
    async def api_client_revoke(self, info: RmaInfo, id: str) -> ApiClient:
        ctx = context_of(info)
        await _own_client(info, id)
        await organizations.revoke_client(ctx.uow, id)
        _accounts(info).recheck_subject(id)
        return ApiClient.from_row(await _own_client(info, id))

    @strawberry.mutation(
        description="A new secret for an API client, shown in the answer only; the old secret and the "
        "tokens issued before are refused from now on.",
        **scoped(access.EDIT_ORGANIZATIONS),
    )
    async def api_client_rotate_secret(self, info: RmaInfo, id: str) -> ApiClientWithSecret:
        ctx = context_of(info)
        client = await _own_client(info, id)
        if client.revoked_at is not None:
            raise BadUserInputError(f"API client {id} is revoked.", "id")
        secret = await organizations.rotate_client_secret(ctx.uow, id)
        _accounts(info).recheck_subject(id)
        return ApiClientWithSecret(client=ApiClient.from_row(await _own_client(info, id)), secret=secret)

    @strawberry.mutation(
        description="Change a staff user's role (among ADMIN, AGENT and INSPECTOR) or deactivate or "
        "reactivate a user; the tokens it holds end. Not one's own account.",
        **scoped(access.EDIT_ORGANIZATIONS),
    )
    async def user_update(
        self, info: RmaInfo, id: str, role: UserRole | None = None, active: bool | None = None
    ) -> User:
        ctx = context_of(info)
        user_id = parse_uuid(id, "id")
        changed = await users.update_user(
            ctx.uow, ctx.authenticated, user_id, role=Role(role.value) if role else None, active=active
        )
        _accounts(info).recheck_subject(user_id)
        return User.from_row(changed)

    @strawberry.mutation(
        description="Mail a password reset link to the users with this email (in one organization, when "
        "given), through the notification deliveries: single use, valid RMA_PASSWORD_RESET_TTL_SECONDS (an "
        "hour). No token needed; limited per client address and per email. Always true: the answer never "
        "says whether an account exists."
    )
    async def password_reset_request(
        self, info: RmaInfo, email: str, organization_id: str | None = None
    ) -> bool:
        ctx = context_of(info)
        text(email, "email", 320, required=True)
        organization = parse_uuid(organization_id, "organizationId") if organization_id is not None else None
        await _limit_email(info, "reset", email, "password reset requests")
        assert ctx.notifications is not None, "the app's lifespan has not started"
        await password_resets.request(ctx.uow, ctx.notifications, email, organization)
        return True

    @strawberry.mutation(
        description="Set a new password with the token of a reset link, once; every token the user held "
        "ends. An unknown, used or expired token is BAD_USER_INPUT (reason INVALID_RESET_TOKEN). No token "
        "needed."
    )
    async def password_reset(self, info: RmaInfo, token: str, new: str) -> bool:
        await password_resets.reset(context_of(info).uow, _accounts(info), token, new)
        return True

    @strawberry.mutation(
        description="Change one's password with the current one; every other token of the user ends."
    )
    async def password_change(self, info: RmaInfo, current: str, new: str) -> bool:
        await _accounts(info).change_password(context_of(info).authenticated, current, new)
        return True

    @strawberry.mutation(**scoped(access.EDIT_ORGANIZATIONS))
    async def organization_update(self, info: RmaInfo, input: OrganizationUpdateInput) -> Organization:
        ctx = context_of(info)
        values: dict[str, Any] = {}
        if input.name is not strawberry.UNSET:
            values["name"] = text(input.name, "input.name", 200, required=True)
        if input.allow_customer_sign_up is not strawberry.UNSET:
            if input.allow_customer_sign_up is None:
                raise BadUserInputError("allowCustomerSignUp cannot be null.", "input.allowCustomerSignUp")
            values["allow_customer_sign_up"] = input.allow_customer_sign_up
        if input.default_language is not strawberry.UNSET:
            if input.default_language is None:
                raise BadUserInputError("defaultLanguage cannot be null.", "input.defaultLanguage")
            values["default_language"] = check_language(input.default_language, "input.defaultLanguage")
        await configuration_service.update_organization(ctx.uow, ctx.authenticated, values)
        return Organization.from_row(await queries.organization(ctx.uow, ctx.authenticated.organization_id))
