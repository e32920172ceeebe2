"""A plan's root arguments of a built-in scalar type skip strawberry's conversion: what it
gives is what strawberry's conversion gives, for every argument set."""

from typing import Any

import pytest
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from rma_graphql.api.compiled_reads import ReadPlans
from rma_graphql.api.schema import build_schema

SCHEMA = build_schema()
PLANS = ReadPlans(SCHEMA)

CASES = [
    ("query($id: String) { rmaOrder(id: $id) { id } }", {"id": "a-b"}),
    ("query($id: String) { rmaOrder(id: $id) { id } }", {"id": None}),
    ("query($id: String) { rmaOrder(id: $id) { id } }", {}),
    ('{ rmaOrder(id: "x") { id } }', {}),
    ('{ rmaOrder(byExternalId: {externalId: "E-1"}) { id } }', {}),
    ("{ rmaOrders { nodes { id } } }", {}),
    ("query($n: Int!) { rmaOrders(first: $n, after: null) { nodes { id } } }", {"n": 3}),
    ('{ rmaOrders(first: 2, after: "c", sort: CREATED_AT_ASC) { nodes { id } } }', {}),
    ("{ rmaOrders(filter: {processingStatus: [NEW]}) { nodes { id } } }", {}),
]


@pytest.mark.parametrize(("query", "variables"), CASES)
def test_arguments_equal_strawberrys_conversion(query: str, variables: dict[str, Any]) -> None:
    found = PLANS.document(query, None)
    assert found is not None
    coerced = get_variable_values(PLANS.schema, found.operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list), coerced
    plan = PLANS._plan(found, coerced)
    assert plan is not None
    (root,) = plan.roots
    expected = convert_arguments(
        get_argument_values(PLANS.schema.query_type.fields[root.name], root.nodes[0], coerced),
        SCHEMA.get_field_for_type(root.name, "Query").arguments,
        scalar_registry=SCHEMA.schema_converter.scalar_registry,
        config=SCHEMA.config,
    )
    assert PLANS._arguments(root, coerced) == expected
    assert list(PLANS._arguments(root, coerced)) == list(expected)


def test_only_built_in_scalars_are_plain() -> None:
    assert PLANS._plain["rmaOrder"][1] == {"id"}
    assert PLANS._plain["rmaOrders"][1] == {"first", "after"}
