"""Permission classes: every operation declares the scope it needs.

Authentication itself happens before execution (the view answers HTTP 401); these
classes only compare the caller's scopes with the operation's.
"""

from functools import cache
from typing import Any

from strawberry.permission import BasePermission

from rma_graphql.api.context import RmaInfo
from rma_graphql.domain.errors import ForbiddenError


class _ScopePermission(BasePermission):
    scope: str = ""

    def has_permission(self, source: Any, info: RmaInfo, **kwargs: Any) -> bool:
        caller = info.context.caller
        return caller is not None and self.scope in caller.scopes

    def on_unauthorized(self) -> None:
        raise ForbiddenError(f"Insufficient scope: {self.scope} required", self.scope)


@cache
def requires(scope: str) -> type[BasePermission]:
    """The permission class for one scope (one class per scope, made once)."""
    return type(f"Requires_{scope}", (_ScopePermission,), {"scope": scope})


def scoped(scope: str) -> dict[str, Any]:
    """``@strawberry.field(**scoped(VIEW_RMA_ORDERS))``."""
    return {"permission_classes": [requires(scope)]}
