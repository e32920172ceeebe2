"""The per-request GraphQL context."""

from dataclasses import dataclass
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from rma_graphql.api.loaders import Loaders
from rma_graphql.domain.access import Caller
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.hub import EventHub
from rma_graphql.service.notification_sender import NotificationSender
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.webhook_sender import WebhookSender


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
    webhooks: WebhookSender | None = None
    notifications: NotificationSender | None = None

    @property
    def authenticated(self) -> Caller:
        """The caller, for every field but signUp and logIn: the view refuses a request
        without a valid token before any resolver runs."""
        if self.caller is None:
            raise RuntimeError("a resolver that needs a caller ran without one")
        return self.caller

    @classmethod
    def build(
        cls,
        uow: UnitOfWork,
        caller: Caller | None,
        request: Any = None,
        response: Any = None,
        hub: EventHub | None = None,
        accounts: Accounts | None = None,
        webhooks: WebhookSender | None = None,
        notifications: NotificationSender | None = None,
    ) -> "Context":
        return cls(
            uow=uow,
            caller=caller,
            loaders=Loaders(uow),
            hub=hub,
            accounts=accounts,
            request=request,
            response=response,
            webhooks=webhooks,
            notifications=notifications,
        )


# What resolvers are given: our context, no root value.
RmaInfo = Info[Context, None]


def context_of(info: RmaInfo) -> Context:
    """The request's context."""
    return info.context


def _selects(selections: Any, path: tuple[str, ...]) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and (len(path) == 1 or _selects(selection.selections, path[1:])):
                return True
        elif _selects(selection.selections, path):  # a fragment spread or an inline fragment
            return True
    return False


def selects(info: RmaInfo, *paths: tuple[str, ...]) -> bool:
    """Whether the current field's selection reaches one of ``paths`` (field names as the
    schema spells them, through fragments too): ``selects(info, ("nodes", "lines"))``."""
    fields = info.selected_fields
    return any(_selects(field.selections, path) for field in fields for path in paths)
