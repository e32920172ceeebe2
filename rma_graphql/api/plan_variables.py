"""The variables of a document a compiled plan answers, coerced as graphql-core coerces them.

Most read documents declare a few variables of built-in scalar types (``$id: String``,
``$first: Int``) and are sent values of exactly those types, which graphql-core's coercion
gives back as they are (an ID given as a number becomes its text, a Float given as an
integer becomes a float). Those are taken here without its general machinery; any other
declaration, a default value, or a value that is not plainly of its type (which graphql-core
converts or refuses in its own words) goes to graphql-core.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSchema, NamedTypeNode, NonNullTypeNode, VariableDefinitionNode
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values

# A value that is not plainly of the type: graphql-core decides.
_OTHER = object()


def _string(value: Any) -> Any:
    return value if type(value) is str else _OTHER


def _id(value: Any) -> Any:
    if type(value) is str:
        return value
    return str(value) if type(value) is int else _OTHER


def _int(value: Any) -> Any:
    return value if type(value) is int and -(2**31) <= value < 2**31 else _OTHER


def _float(value: Any) -> Any:
    if type(value) is float:
        return value if math.isfinite(value) else _OTHER
    return float(value) if type(value) is int else _OTHER


def _boolean(value: Any) -> Any:
    return value if type(value) is bool else _OTHER


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "String": _string,
    "ID": _id,
    "Int": _int,
    "Float": _float,
    "Boolean": _boolean,
}

# A declared variable this module coerces: its name, its type's coercion, whether non-null,
# and its signature (what graphql-core keeps as the source of its value).
Simple = tuple[tuple[str, Callable[[Any], Any], bool, Any], ...]


def simple_variables(schema: GraphQLSchema, definitions: Sequence[VariableDefinitionNode]) -> Simple | None:
    """The declarations, when each is of a built-in scalar type (or its non-null) without a
    default value; else None."""
    found = []
    for definition in definitions:
        kind, non_null = definition.type, False
        if isinstance(kind, NonNullTypeNode):
            kind, non_null = kind.type, True
        if definition.default_value is not None or not isinstance(kind, NamedTypeNode):
            return None
        coerce = _SCALARS.get(kind.name.value)
        if coerce is None:
            return None
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError):
            return None
        found.append((signature.name, coerce, non_null, signature))
    return tuple(found)


def coerce_variables(
    schema: GraphQLSchema,
    definitions: Sequence[VariableDefinitionNode],
    simple: Simple | None,
    raw: dict[str, Any],
) -> VariableValues | list[GraphQLError]:
    """What ``get_variable_values`` gives for ``raw``: the coerced values with their sources,
    or the errors."""
    if simple is not None:
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for name, coerce, non_null, signature in simple:
            if name not in raw:
                if non_null:
                    break
                sources[name] = VariableValueSource(signature)
                continue
            given = raw[name]
            value = None if given is None else coerce(given)
            if value is _OTHER or (value is None and non_null):
                break
            sources[name] = VariableValueSource(signature, given)
            coerced[name] = value
        else:
            return VariableValues(sources, coerced)
    return get_variable_values(schema, definitions, raw)
