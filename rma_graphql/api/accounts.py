"""Accounts over GraphQL: signing up, logging in and out, and the organization's settings."""

from typing import Any

import strawberry
import strawberry.tools

from rma_graphql.api.context import RmaInfo, context_of
from rma_graphql.api.inputs import (
    parse_uuid,
    text,
)
from rma_graphql.api.permissions import scoped
from rma_graphql.api.types import (
    AuthPayload,
    Organization,
    User,
)
from rma_graphql.domain import access
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service import accounts as accounts_service
from rma_graphql.service import configurations as configuration_service
from rma_graphql.service import queries
from rma_graphql.service.history_messages import check_language


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
        return AuthPayload(token=issued.token, expires_in=issued.expires_in, user=User.from_row(user))

    @strawberry.mutation(description="Log in with a username and password; no token needed.")
    async def log_in(self, info: RmaInfo, username: str, password: str) -> AuthPayload:
        text(username, "username", 150, required=True)
        issued, user = await _accounts(info).log_in(username, password)
        return AuthPayload(token=issued.token, expires_in=issued.expires_in, user=User.from_row(user))

    @strawberry.mutation(description="Revoke the token this request carries.")
    async def log_out(self, info: RmaInfo) -> bool:
        await _accounts(info).revoke(context_of(info).authenticated)
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
