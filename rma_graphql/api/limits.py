"""Query limits, checked before anything runs.

The depth rule is our own because the stock one skips introspection fields, and a deeply
nested ``__type { fields { type { fields … } } }`` costs as much as any other field. Every
field counts as one level: ``{ rmaOrder { id } }`` is two deep. The one exception is
``ofType``, which only unwraps a list or non-null type: a chain of them costs one step
each, not a new level of the schema, and the standard introspection queries (graphql-core's,
GraphiQL's, Apollo's, graphql-codegen's) nest it seven to nine times. It is bounded by a
limit of its own instead.

A document's size after its fragments are expanded is checked before validation, since
validation itself expands fragments: twenty fragments that each spread the next twice
are 900 bytes and a million fields.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    validate,
)
from strawberry.extensions import SchemaExtension

from rma_graphql.api.errors import unstorable_text_error

# Nested ofType selections allowed in one path (the standard queries use up to 9).
MAX_TYPE_REF_DEPTH = 16
TYPE_REF = "ofType"


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    limit: int,
    visiting: frozenset[str],
    type_refs: int = 0,
) -> int:
    """The depth of a selection set, counting no further than ``limit + 1``.

    A path with more than ``MAX_TYPE_REF_DEPTH`` nested ``ofType`` counts as too deep.
    """
    if selection_set is None:
        return 0
    if limit <= 0:
        return 1  # one more level than allowed is all the answer needs
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == TYPE_REF:
            if type_refs >= MAX_TYPE_REF_DEPTH:
                return limit + 1
            depth = _depth(selection.selection_set, fragments, limit, visiting, type_refs + 1)
        elif isinstance(selection, FieldNode):
            depth = 1 + _depth(selection.selection_set, fragments, limit - 1, visiting, type_refs)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments, limit, visiting, type_refs)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # An unknown or cyclic spread is another rule's error; it adds no depth here.
            if fragment is None or name in visiting:
                continue
            depth = _depth(fragment.selection_set, fragments, limit, visiting | {name}, type_refs)
        else:  # pragma: no cover - graphql-core has no other selection kinds
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule class refusing operations deeper than ``max_depth`` fields."""

    class MaxDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                definition.name.value: definition
                for definition in self.context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, max_depth, frozenset())
            if depth > max_depth:
                name = f"'{node.name.value}' " if node.name else ""
                self.report_error(
                    GraphQLError(
                        f"The operation {name}is more than {max_depth} fields deep "
                        f"(or nests ofType more than {MAX_TYPE_REF_DEPTH} times); "
                        f"the depth limit is {max_depth}.",
                        node,
                    )
                )

    return MaxDepthRule


def expanded_fields(document: DocumentNode, limit: int) -> int:
    """How many fields the document's operations select once every fragment is expanded.

    Each fragment is counted once and its count reused, so the work is linear in the
    document's size however often fragments spread each other; counting stops past
    ``limit``. Unknown or cyclic spreads count nothing (validation refuses them).
    """
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counted: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set, visiting)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in counted:
                    fragment = fragments.get(name)
                    if fragment is None or name in visiting:
                        continue
                    counted[name] = count(fragment.selection_set, visiting | {name})
                total += counted[name]
            if total > limit:
                return total
        return total

    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += count(definition.selection_set, frozenset())
            if total > limit:
                break
    return total


@lru_cache(maxsize=1024)
def _checked(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ValidationRule], ...], max_fields: int
) -> list[GraphQLError]:
    fields = expanded_fields(document, max_fields)
    if fields > max_fields:
        return [
            GraphQLError(
                f"The document selects more than {max_fields} fields once its fragments are "
                f"expanded; the field limit is {max_fields}."
            )
        ]
    return validate(schema, document, rules)


class LimitedValidation(SchemaExtension):
    """Validation, cached per document, after a check of the document's expanded size;
    then a refusal of any text input no database column takes (a NUL, an unpaired surrogate).

    It stands in for strawberry's ``ValidationCache``: that one validates whatever it is
    given, and validation is where an oversized document would cost the most.
    """

    def __init__(self, max_fields: int) -> None:
        super().__init__()
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = _checked(
            context.schema._schema, context.graphql_document, tuple(context.validation_rules), self.max_fields
        )
        if not context.pre_execution_errors and context.query is not None:
            refused = unstorable_text_error(context.query, context.variables)
            if refused is not None:
                context.pre_execution_errors = [refused]
        yield
