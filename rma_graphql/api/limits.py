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
are 900 bytes and a million fields. Once a document is valid, its estimated cost with the
request's variables (pages and the fields that cost most) bounds the work it may cause.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_list_type,
    validate,
    value_from_ast,
    visit,
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


# What a field costs per object it is resolved for, in units of one plain field (about
# 5 µs): availableActions tries every action on a copy of the RMA order (about 2 ms).
FIELD_COSTS = {"availableActions": 400, "amountDue": 10, "executedAmount": 10, "remainingDue": 10}
# How many items a list counts as when neither it nor its connection says (``first``).
LIST_SIZE = 5
Visiting = frozenset[str]
Firsts = tuple[tuple[str, Any], ...]


def estimated_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """What resolving the operation would cost, estimated from the document alone: each
    field costs its ``FIELD_COSTS`` (1 by default) per object it is resolved for; a list
    field multiplies what it selects by its ``first`` when given, else by its connection's
    ``first``, given or default (``rmaOrders(first: 50) { nodes … }``), else by ``LIST_SIZE``.
    Introspection is bounded by the depth rules instead and counts 1."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    root = schema.get_root_type(chosen[0].operation) if chosen else None
    if root is None:
        return 0
    return _CostEstimate(schema, document, variables).cost(chosen[0].selection_set, root, None, frozenset())


class _CostEstimate:
    """One document's cost, its fragments' costs remembered per parent type and page."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None):
        self.schema = schema
        self.values = dict(variables or {})
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[tuple[str, str, int | None], int] = {}

    def first(self, field: FieldNode, definition: GraphQLField, *, default: bool) -> int | None:
        """The field's ``first`` when given (a literal or a variable), else with ``default``
        its default: a connection's pages are full, a nested list rarely is."""
        argument = definition.args.get("first")
        if argument is None:
            return None
        for given in field.arguments or ():
            if given.name.value == "first":
                value = value_from_ast(given.value, argument.type, self.values)
                return value if isinstance(value, int) and value >= 0 else LIST_SIZE
        return argument.default_value if default and isinstance(argument.default_value, int) else None

    def cost(
        self, selection_set: SelectionSetNode | None, parent: Any, page: int | None, visiting: Visiting
    ) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, page, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, target or parent, page, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection, parent, page, visiting)
        return total

    def _field(self, selection: FieldNode, parent: Any, page: int | None, visiting: Visiting) -> int:
        name = selection.name.value
        definition = parent.fields.get(name)
        if definition is None or name.startswith("__"):
            return 1
        child = get_named_type(definition.type)
        own = FIELD_COSTS.get(name, 1)
        if is_list_type(get_nullable_type(definition.type)):
            count = self.first(selection, definition, default=False)
            items = count if count is not None else page if page is not None else LIST_SIZE
            return own + items * self.cost(selection.selection_set, child, None, visiting)
        # A connection passes its first on to its list (nodes, edges).
        count = self.first(selection, definition, default=True)
        return own + self.cost(selection.selection_set, child, count, visiting)

    def _spread(
        self, selection: FragmentSpreadNode, parent: Any, page: int | None, visiting: Visiting
    ) -> int:
        fragment = self.fragments.get(selection.name.value)
        if fragment is None or fragment.name.value in visiting:
            return 0
        key = (fragment.name.value, parent.name, page)
        if key not in self.memo:
            target = self.schema.get_type(fragment.type_condition.name.value) or parent
            self.memo[key] = self.cost(fragment.selection_set, target, page, visiting | {fragment.name.value})
        return self.memo[key]


class _FirstVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if node.name.value == "first" and isinstance(node.value, VariableNode):
            self.names.add(node.value.name.value)


@lru_cache(maxsize=1024)
def _first_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables a document passes as ``first``: the only ones its cost depends on."""
    found = _FirstVariables()
    visit(document, found)
    return tuple(sorted(found.names))


@lru_cache(maxsize=1024)
def _cached_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    firsts: tuple[tuple[str, Any], ...],
) -> int:
    return estimated_cost(schema, document, operation_name, dict(firsts))


class _Document:
    """A parsed document as a cache key: equal by its text (hashing the text is cheap;
    hashing the syntax tree walks all of it)."""

    __slots__ = ("document", "text")

    def __init__(self, text: str, document: DocumentNode) -> None:
        self.text = text
        self.document = document

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Document) and other.text == self.text


@lru_cache(maxsize=1024)
def _document_first_variables(document: _Document) -> tuple[str, ...]:
    return _first_variables(document.document)


@lru_cache(maxsize=1024)
def _cached_text_cost(
    schema: GraphQLSchema,
    document: _Document,
    operation_name: str | None,
    firsts: tuple[tuple[str, Any], ...],
) -> int:
    return estimated_cost(schema, document.document, operation_name, dict(firsts))


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    text: str | None = None,
) -> int:
    """``estimated_cost``, computed once per document, operation and values of ``first``
    (the document known by its ``text`` when given)."""
    key = _Document(text, document) if text is not None else None
    names = _document_first_variables(key) if key is not None else _first_variables(document)
    firsts = tuple((name, (variables or {}).get(name)) for name in names)
    if all(isinstance(value, int | None) for _, value in firsts):
        if key is not None:
            return _cached_text_cost(schema, key, operation_name, firsts)
        return _cached_cost(schema, document, operation_name, firsts)
    return estimated_cost(schema, document, operation_name, variables)


@lru_cache(maxsize=1024)
def _checked(
    schema: GraphQLSchema, key: _Document, rules: tuple[type[ASTValidationRule], ...], max_fields: int
) -> list[GraphQLError]:
    return _check(schema, key.document, rules, max_fields)


def _check(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], max_fields: int
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


def document_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], max_fields: int
) -> list[GraphQLError]:
    """What validation, the field limit included, finds wrong with a document."""
    return _check(schema, document, rules, max_fields)


class LimitedValidation(SchemaExtension):
    """Validation, cached per document, after a check of the document's expanded size;
    then a refusal of any text input no database column takes (a NUL, an unpaired surrogate).

    It stands in for strawberry's ``ValidationCache``: that one validates whatever it is
    given, and validation is where an oversized document would cost the most.
    """

    def __init__(self, max_fields: int, max_cost: int) -> None:
        super().__init__()
        self.max_fields = max_fields
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        schema, rules = context.schema._schema, tuple(context.validation_rules)
        if context.query is None:
            context.pre_execution_errors = _check(schema, context.graphql_document, rules, self.max_fields)
        else:
            # The parser cache gives one document per text: the text is the document's key.
            key = _Document(context.query, context.graphql_document)
            context.pre_execution_errors = _checked(schema, key, rules, self.max_fields)
        if not context.pre_execution_errors:
            refused = self._refusal(context.schema._schema, context.graphql_document, context)
            if refused is not None:
                context.pre_execution_errors = [refused]
        yield

    def _refusal(self, schema: GraphQLSchema, document: DocumentNode, context: Any) -> GraphQLError | None:
        """What the request's variables make of a valid document: its cost, its text."""
        cost = operation_cost(schema, document, context.operation_name, context.variables, text=context.query)
        if cost > self.max_cost:
            return GraphQLError(
                f"The operation's estimated cost is {cost}, over the cost limit of {self.max_cost} "
                f"(a list counts as its first, or {LIST_SIZE} items; availableActions costs "
                f"{FIELD_COSTS['availableActions']} per RMA order): ask for fewer items or fields.",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )
        return unstorable_text_error(context.query, context.variables) if context.query else None
