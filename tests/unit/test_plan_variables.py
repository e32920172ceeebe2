"""Variables coerced for a compiled plan are exactly what graphql-core gives: the same
values and sources, or (for anything it converts or refuses) graphql-core's own answer."""

import math
from typing import Any

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values

from rma_graphql.api.plan_variables import coerce_variables, simple_variables
from rma_graphql.api.schema import build_schema

SCHEMA = build_schema()._schema

SIMPLE = "query($id: String, $n: Int!, $k: ID, $f: Float, $b: Boolean) { __typename }"
VALUES: list[dict[str, Any]] = [
    {"n": 1},
    {"id": "a", "n": -(2**31), "k": "x", "f": 1.5, "b": True},
    {"id": None, "n": 2**31 - 1, "k": None, "f": None, "b": None},
    {"n": 3, "k": 42, "f": 2},
    {"n": 3, "unknown": [1]},
    # What graphql-core converts or refuses:
    {"n": 2**31},
    {"n": 3.0},
    {"n": True},
    {"n": None},
    {},
    {"n": 1, "id": 5},
    {"n": 1, "k": True},
    {"n": 1, "k": 1.5},
    {"n": 1, "f": math.inf},
    {"n": 1, "f": "1.5"},
    {"n": 1, "b": 1},
]


def _definitions(query: str) -> Any:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.variable_definitions or ()


def _plain(found: VariableValues | list[GraphQLError]) -> Any:
    if isinstance(found, list):
        return [error.message for error in found]
    sources = {
        name: (source.signature.name, str(source.signature.type), source.value)
        for name, source in found.sources.items()
    }
    return sources, found.coerced, [type(value) for value in found.coerced.values()]


@pytest.mark.parametrize("raw", VALUES)
def test_coerced_as_graphql_core_coerces(raw: dict[str, Any]) -> None:
    definitions = _definitions(SIMPLE)
    simple = simple_variables(SCHEMA, definitions)
    assert simple is not None
    assert _plain(coerce_variables(SCHEMA, definitions, simple, raw)) == _plain(
        get_variable_values(SCHEMA, definitions, raw)
    )


@pytest.mark.parametrize(
    "query",
    [
        'query($id: String = "x") { __typename }',
        "query($ids: [String]) { __typename }",
        "query($f: RmaOrderFilterInput) { __typename }",
        "query($s: RmaOrderSort) { __typename }",
    ],
)
def test_defaults_lists_inputs_and_enums_are_left_to_graphql_core(query: str) -> None:
    assert simple_variables(SCHEMA, _definitions(query)) is None


def test_a_document_without_variables_coerces_to_nothing() -> None:
    definitions = _definitions("{ __typename }")
    found = coerce_variables(SCHEMA, definitions, simple_variables(SCHEMA, definitions), {"x": 1})
    assert _plain(found) == ({}, {}, [])
