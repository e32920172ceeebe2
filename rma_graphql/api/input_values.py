"""Input values built from a plan made once per input type.

strawberry turns an input value (the dictionary graphql-core coerced) into its input
class field by field, and for each field, on every request, works out its GraphQL name and
resolves its annotation: a create's input (its lines, its contacts) costs about a fifth of
the create's CPU that way. strawberry lets a type build its own value instead
(``from_input`` of its definition, the hook its integrations use): here each input type of
the schema gets one that reads, once, what its fields are called in GraphQL and in Python
and which of them hold plain values (scalars, enums: graphql-core gave them as they are
kept); those are copied, the others (lists, nested inputs) go through strawberry's own
conversion, which calls the nested types' own ``from_input`` in turn. The instances are the
ones strawberry builds (tests/unit/test_input_values.py compares them for every input type).
"""

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLNonNull, GraphQLScalarType
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryObjectDefinition

# (GraphQL name, Python name, the field's type as strawberry resolved it, a plain value)
_Field = tuple[str, str, Any, bool]


class _FromInput:
    """The ``from_input`` of one input type."""

    def __init__(self, fields: list[_Field], unset: dict[str, None]) -> None:
        self.fields = fields
        # The fields without a default: None unless given (as strawberry does).
        self.unset = unset

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, Any] = dict(self.unset)
        for graphql_name, python_name, type_, plain in self.fields:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = (
                    given if plain or given is None else context.convert(given, type_, graphql_name)
                )
        return cls(**kwargs)


def _plain(graphql_type: Any) -> bool:
    """Whether values of this GraphQL input type are kept as graphql-core gives them."""
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    return isinstance(graphql_type, GraphQLScalarType | GraphQLEnumType)


def _from_input(definition: StrawberryObjectDefinition, graphql_type: GraphQLInputObjectType) -> _FromInput:
    fields: list[_Field] = []
    for graphql_name, graphql_field in graphql_type.fields.items():
        field = graphql_field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        type_ = field.resolve_type(type_definition=definition)
        fields.append((graphql_name, field.python_name, type_, _plain(graphql_field.type)))
    unset = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    return _FromInput(fields, unset)


def plan_input_values(schema: strawberry.Schema) -> None:
    """Give every input type of ``schema`` (strawberry's, not an integration's with a
    ``from_input`` of its own, nor a one-of input) the ``from_input`` of its plan."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLInputObjectType):
            continue
        definition = graphql_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.from_input is not None:
            continue
        if definition.is_one_of or definition.is_graphql_generic:
            continue
        definition.from_input = _from_input(definition, graphql_type)
