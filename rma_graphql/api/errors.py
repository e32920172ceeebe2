"""One place that turns every error into the contract's shape (CONTRACT §2)."""

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    parse,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from rma_graphql.api.observability import current_request_id
from rma_graphql.domain.errors import DomainError

logger = logging.getLogger("rma_graphql.errors")

# graphql-core's message for a variable that fails coercion names the path it failed at.
_VARIABLE_PATH = re.compile(r"^Variable '\$(?P<name>\w+)' has invalid value(?: at (?P<path>[^:]+))?:")
_VARIABLE_MISSING = re.compile(r"^Variable '\$(?P<name>\w+)' of (?:required|non-null) type")
TEXT_REFUSED = "Text cannot contain the NUL character (U+0000) or an unpaired surrogate (U+D800 to U+DFFF)."


def storable(text: str) -> bool:
    """Whether a database column takes the text: no NUL, and encodable as UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_REQUIRED_FIELD = re.compile(r"to include required field '(?P<field>\w+)'")
_REQUIRED_ARGUMENT = re.compile(r"^Argument '[^']*\((?P<name>\w+):\)' of type '[^']*' is required")


class _InputPaths(Visitor):
    """Where each variable is used and each input literal sits, as argument paths."""

    def __init__(self) -> None:
        super().__init__()
        self.variables: dict[str, str] = {}
        self.literals: dict[int, str] = {}
        # String literals no database column takes (see ``storable``).
        self.unstorable_literals: list[str] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self._value(node.value, node.name.value)

    def _value(self, value: ValueNode, path: str) -> None:
        if isinstance(value, VariableNode):
            self.variables.setdefault(value.name.value, path)
        elif isinstance(value, ObjectValueNode):
            if value.loc is not None:
                self.literals[value.loc.start] = path
            for field in value.fields:
                self._value(field.value, f"{path}.{field.name.value}")
        elif isinstance(value, ListValueNode):
            for index, item in enumerate(value.values):
                self._value(item, f"{path}[{index}]")
        elif isinstance(value, StringValueNode) and not storable(value.value):
            self.unstorable_literals.append(path)


@lru_cache(maxsize=256)
def input_paths(query: str) -> _InputPaths:
    paths = _InputPaths()
    with contextlib.suppress(GraphQLError):  # a document that does not parse has no inputs
        visit(parse(query), paths)
    return paths


def _offending_input(error: GraphQLError) -> str | None:
    """The input path an error about a missing or invalid input names, as ``input.lines[0]``."""
    message = error.message
    required = _REQUIRED_FIELD.search(message)
    suffix = f".{required.group('field')}" if required else ""
    match = _VARIABLE_PATH.match(message) or _VARIABLE_MISSING.match(message)
    source = error.source.body if error.source is not None else ""
    if match is not None:
        name = match.group("name")
        # The path within the variable's value, as graphql-core prints it ('.lines[0]').
        inner = (match.groupdict().get("path") or "").strip()
        used_as = input_paths(source).variables.get(name, name) if source else name
        return used_as + inner + suffix
    argument = _REQUIRED_ARGUMENT.match(message)
    if argument is not None:
        return argument.group("name")
    if required and error.nodes and source:
        node: Node = error.nodes[0]
        if isinstance(node, ObjectValueNode) and node.loc is not None:
            path = input_paths(source).literals.get(node.loc.start)
            if path is not None:
                return path + suffix
    return None


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
        field = _offending_input(error)
        extensions = {"field": field} if field is not None else {}
        if _VARIABLE_PATH.match(message) or _VARIABLE_MISSING.match(message):
            code = "BAD_USER_INPUT"
        elif error.path is None and error.locations is not None and "Syntax Error" in message:
            code = "GRAPHQL_PARSE_FAILED"
        elif error.path is None:
            code = "GRAPHQL_VALIDATION_FAILED"
        else:
            code = "BAD_USER_INPUT"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code, **extensions},
        )
    # The request id is the reference: the request's log line and this one carry it too.
    error_id = current_request_id() or uuid.uuid4().hex
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


def _unstorable_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if not storable(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, f"{path}[{index}]")


def unstorable_text_error(query: str, variables: dict[str, Any] | None) -> GraphQLError | None:
    """A BAD_USER_INPUT error for the first text input, literal or variable, that no
    database column takes (a NUL character, an unpaired surrogate)."""
    paths = input_paths(query)
    found = paths.unstorable_literals[0] if paths.unstorable_literals else None
    for name, value in (variables or {}).items():
        if found is not None:
            break
        for path in _unstorable_paths(value, ""):
            found = paths.variables.get(name, name) + path
            break
    if found is None:
        return None
    return GraphQLError(TEXT_REFUSED, extensions={"code": "BAD_USER_INPUT", "field": found})


def format_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    return [
        error
        if error.extensions and "code" in error.extensions and error.original_error is None
        else format_error(error)
        for error in errors
    ]


def _format(result: Any) -> None:
    errors = getattr(result, "errors", None)
    if result is not None and errors:
        result.errors = format_errors(errors)
