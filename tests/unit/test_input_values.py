"""Every input type of the schema builds, from its plan, the value strawberry builds itself."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument

from rma_graphql.api.input_values import _FromInput
from rma_graphql.api.schema import schema

SCALARS = {"String": "text", "ID": "an-id", "Int": 3, "Float": 2.5, "Boolean": True}
INPUTS = sorted(
    (t for t in schema._schema.type_map.values() if isinstance(t, GraphQLInputObjectType)),
    key=lambda t: t.name,
)


def _value(graphql_type: GraphQLInputType, variant: str, depth: int = 0) -> Any:
    """An input value as graphql-core gives it: every field (``full``), only the required
    ones (``required``), or every nullable one explicitly null (``nulls``)."""
    if isinstance(graphql_type, GraphQLNonNull):
        return _value(graphql_type.of_type, variant, depth)
    if isinstance(graphql_type, GraphQLList):
        return [_value(graphql_type.of_type, variant, depth), _value(graphql_type.of_type, variant, depth)]
    if isinstance(graphql_type, GraphQLEnumType):
        return list(graphql_type.values.values())[-1].value
    if isinstance(graphql_type, GraphQLScalarType):
        return SCALARS.get(graphql_type.name, f"a {graphql_type.name}")
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, field in graphql_type.fields.items():
        required = isinstance(field.type, GraphQLNonNull)
        if variant == "required" and not required:
            continue
        if variant == "nulls" and not required:
            value[name] = None
        elif depth < 4 or required:
            value[name] = _value(field.type, variant, depth + 1)
    return value


def _definition(graphql_type: GraphQLInputObjectType) -> Any:
    return graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]


@contextmanager
def _strawberry_alone() -> Iterator[None]:
    """Every input type converted by strawberry's own code, for the time of the block."""
    planned = {t.name: _definition(t).from_input for t in INPUTS}
    for graphql_type in INPUTS:
        _definition(graphql_type).from_input = None
    try:
        yield
    finally:
        for graphql_type in INPUTS:
            _definition(graphql_type).from_input = planned[graphql_type.name]


def _convert(graphql_type: GraphQLInputObjectType, value: Any) -> Any:
    return convert_argument(
        value,
        _definition(graphql_type).origin,
        schema.schema_converter.scalar_registry,
        schema.config,
    )


def test_every_input_type_has_a_plan() -> None:
    assert len(INPUTS) > 40
    unplanned = [t.name for t in INPUTS if not isinstance(_definition(t).from_input, _FromInput)]
    assert unplanned == []


@pytest.mark.parametrize("variant", ["full", "required", "nulls"])
@pytest.mark.parametrize("graphql_type", INPUTS, ids=lambda t: t.name)
def test_the_plan_builds_what_strawberry_builds(graphql_type: GraphQLInputObjectType, variant: str) -> None:
    value = _value(graphql_type, variant)

    planned = _convert(graphql_type, value)
    with _strawberry_alone():
        expected = _convert(graphql_type, value)

    assert type(planned) is type(expected)
    assert planned == expected
    assert vars(planned) == vars(expected)


def test_nested_inputs_are_built_by_their_own_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    create = schema._schema.type_map["RmaOrderInput"]
    line_type = schema._schema.type_map["RmaOrderLineInput"]
    assert isinstance(create, GraphQLInputObjectType)
    assert isinstance(line_type, GraphQLInputObjectType)
    value = _value(create, "full")
    plan = _definition(line_type).from_input
    calls: list[Any] = []

    def counted(cls: type, given: Any, context: Any) -> Any:
        calls.append(context.path)
        return plan(cls, given, context)

    monkeypatch.setattr(_definition(line_type), "from_input", counted)

    built = _convert(create, value)

    assert [type(line).__name__ for line in built.lines] == ["RmaOrderLineInput", "RmaOrderLineInput"]
    assert built.lines[0].sku == "text"
    assert calls == [("lines", 0), ("lines", 1)]
    assert built.lines is not value["lines"]  # a list is copied, as strawberry copies it
