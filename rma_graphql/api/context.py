"""The per-request GraphQL context."""

from dataclasses import dataclass
from typing import Any

from rma_graphql.api.loaders import Loaders, make_loaders
from rma_graphql.service.hub import EventHub
from rma_graphql.service.rma_orders import Caller
from rma_graphql.service.unit_of_work import UnitOfWork


@dataclass
class Context:
    uow: UnitOfWork
    caller: Caller
    loaders: Loaders
    hub: EventHub | None = None
    request: Any = None
    response: Any = None

    @classmethod
    def build(
        cls,
        uow: UnitOfWork,
        caller: Caller,
        request: Any = None,
        response: Any = None,
        hub: EventHub | None = None,
    ) -> "Context":
        return cls(
            uow=uow, caller=caller, loaders=make_loaders(uow), hub=hub, request=request, response=response
        )
