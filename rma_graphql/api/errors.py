"""One place that turns every error into the contract's shape (CONTRACT §2)."""

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from rma_graphql.domain.errors import DomainError

logger = logging.getLogger("rma_graphql.errors")

# graphql-core's message for a variable that fails coercion names the path it failed at.
_VARIABLE_PATH = re.compile(r"^Variable '\$(?P<name>\w+)' has invalid value(?: at (?P<path>[^:]+))?:")
_VARIABLE_MISSING = re.compile(r"^Variable '\$(?P<name>\w+)' of (?:required|non-null) type")


def format_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=original.extensions(),
        )
    # A GraphQLError as the cause is graphql-core's own refusal of the request (a variable
    # that fails coercion, for one): the client's input, not our fault.
    if original is None or isinstance(original, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return error
        message = error.message
        match = _VARIABLE_PATH.match(message) or _VARIABLE_MISSING.match(message)
        if match is not None:
            path = match.group("name") + (match.groupdict().get("path") or "")
            code, extensions = "BAD_USER_INPUT", {"field": path}
        elif error.path is None and error.locations is not None and "Syntax Error" in message:
            code, extensions = "GRAPHQL_PARSE_FAILED", {}
        elif error.path is None:
            code, extensions = "GRAPHQL_VALIDATION_FAILED", {}
        else:
            code, extensions = "BAD_USER_INPUT", {}
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code, **extensions},
        )
    error_id = uuid.uuid4().hex[:12]
    logger.error("unexpected error %s at %s", error_id, error.path, exc_info=original)
    return GraphQLError(
        f"Internal server error (reference {error_id}).",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


class ErrorFormatter(SchemaExtension):
    """Gives every error a code; masks unexpected ones and logs them with a reference."""

    def on_operation(self) -> Iterator[None]:
        yield
        _format(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each result a subscription sends, which ``on_operation`` never sees.
        _format(result)
        yield


def _format(result: Any) -> None:
    errors = getattr(result, "errors", None)
    if result is not None and errors:
        result.errors = [
            error
            if error.extensions and "code" in error.extensions and error.original_error is None
            else format_error(error)
            for error in errors
        ]
