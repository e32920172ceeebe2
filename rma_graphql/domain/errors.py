"""Domain errors: each carries the stable code and the details the public contract names."""

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on; never masked."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class BadUserInputError(DomainError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str, **details: Any) -> None:
        super().__init__(message)
        self.field = field
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, **self.details}


class CommandFieldError(BadUserInputError):
    """A value of a command is refused; ``field`` names it in the command's own words
    (``amount``, ``quantity``): the API places it under the argument the command came from."""


class NotFoundError(DomainError):
    code = "NOT_FOUND"

    def __init__(self, message: str, id: str | None) -> None:
        super().__init__(message)
        self.id = id

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "id": self.id}


class InvalidTransitionError(DomainError):
    code = "INVALID_TRANSITION"

    def __init__(self, message: str, *, dimension: str, from_status: str, action: str) -> None:
        super().__init__(message)
        self.dimension = dimension
        self.from_status = from_status
        self.action = action
        # Filled in by the aggregate, which alone knows every action it could take now.
        self.allowed_actions: list[str] = []

    def extensions(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "dimension": self.dimension,
            "from": self.from_status,
            "action": self.action,
            "allowedActions": self.allowed_actions,
        }


class ConflictError(DomainError):
    code = "CONFLICT"

    def __init__(self, message: str, expected_version: int | None, current_version: int) -> None:
        super().__init__(message)
        self.expected_version = expected_version
        self.current_version = current_version

    def extensions(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "expectedVersion": self.expected_version,
            "currentVersion": self.current_version,
        }


class ForbiddenError(DomainError):
    code = "FORBIDDEN"

    def __init__(self, message: str, required_scope: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.required_scope = required_scope
        self.field = field

    def extensions(self) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code}
        if self.required_scope is not None:
            extensions["requiredScope"] = self.required_scope
        if self.field is not None:
            extensions["field"] = self.field
        return extensions


class UnauthorizedError(DomainError):
    """A subscription's token expired or was revoked (over HTTP this is a 401 instead)."""

    code = "UNAUTHORIZED"
