"""The per-request GraphQL context."""

from dataclasses import dataclass
from typing import Any

from rma_graphql.api.loaders import Loaders, make_loaders
from rma_graphql.domain.access import Caller
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.hub import EventHub
from rma_graphql.service.unit_of_work import UnitOfWork


@dataclass
class Context:
    uow: UnitOfWork
    # None until a websocket's connection_init authenticates it, and on HTTP for the
    # operations that need no token.
    caller: Caller | None
    loaders: Loaders
    hub: EventHub | None = None
    accounts: Accounts | None = None
    request: Any = None
    response: Any = None
    # The websocket's connection_init payload.
    connection_params: Any = None

    @classmethod
    def build(
        cls,
        uow: UnitOfWork,
        caller: Caller | None,
        request: Any = None,
        response: Any = None,
        hub: EventHub | None = None,
        accounts: Accounts | None = None,
    ) -> "Context":
        return cls(
            uow=uow,
            caller=caller,
            loaders=make_loaders(uow),
            hub=hub,
            accounts=accounts,
            request=request,
            response=response,
        )
