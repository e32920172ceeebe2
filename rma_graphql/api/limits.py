"""Query limits, checked while validating, before anything runs.

The depth rule is our own because the stock one skips introspection fields, and a deeply
nested ``__type { ofType { ofType … } }`` costs as much as any other field. Every field
counts as one level: ``{ rmaOrder { id } }`` is two deep.
"""

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    limit: int,
    visiting: frozenset[str],
) -> int:
    """The depth of a selection set, counting no further than ``limit + 1``."""
    if selection_set is None:
        return 0
    if limit <= 0:
        return 1  # one more level than allowed is all the answer needs
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + _depth(selection.selection_set, fragments, limit - 1, visiting)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments, limit, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            # An unknown or cyclic spread is another rule's error; it adds no depth here.
            if fragment is None or name in visiting:
                continue
            depth = _depth(fragment.selection_set, fragments, limit, visiting | {name})
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
                        f"The operation {name}is more than {max_depth} fields deep; "
                        f"the depth limit is {max_depth}.",
                        node,
                    )
                )

    return MaxDepthRule
