"""Compiling a validated read document into a plan: which columns each level reads, and a
builder that turns rows into the response's objects.

The plan walks the selection as graphql-core's execution would (fields merged by response
key in document order, fragments and inline fragments expanded once, ``@skip`` and
``@include`` decided by the variables) and completes every value as graphql-core does (the
output type's ``serialize``; a null where the type forbids one is not compiled: it makes
the operation run through strawberry, which answers with the error). A field the plan
does not know makes the whole operation uncompilable.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
)
from graphql.execution.values import VariableValues, get_directive_values
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_int, serialize_string

from rma_graphql.api.compiled_fields import LINE_FIELDS, LINE_PARENT_COLUMNS, RMA_ORDER_FIELDS, Leaf, Row

Fields = dict[str, list[FieldNode]]


class NotCompilableError(Exception):
    """The document asks for something the plans do not answer."""


class FallbackError(Exception):
    """This request's answer is strawberry's to give (an error, a null, a refusal)."""


def _included(node: Any, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include is not None and include["if"] is False)


@dataclass
class Selection:
    """What a selection set asks of one object type, fields by response key."""

    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues

    def collect(self, type_name: str, nodes: list[FieldNode]) -> Fields:
        fields: Fields = {}
        visited: set[str] = set()
        for node in nodes:
            if node.selection_set is not None:
                self._collect(type_name, node.selection_set, fields, visited)
        return fields

    def _collect(
        self, type_name: str, selection_set: SelectionSetNode, fields: Fields, visited: set[str]
    ) -> None:
        for selection in selection_set.selections:
            if not _included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments[name]
                condition: Any = fragment.type_condition
                inner = fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            else:  # pragma: no cover - graphql-core knows no other selection
                raise NotCompilableError(type(selection).__name__)
            if condition is not None and condition.name.value != type_name:
                raise NotCompilableError(f"a fragment on {condition.name.value} inside {type_name}")
            self._collect(type_name, inner, fields, visited)


def completer(output_type: Any) -> Callable[[Any], Any]:
    """How graphql-core completes a value of this type (leaves and lists of leaves)."""
    if isinstance(output_type, GraphQLNonNull):
        inner = completer(output_type.of_type)

        def non_null(value: Any) -> Any:
            if value is None:
                raise FallbackError("null in a non-null field")
            return inner(value)

        return non_null
    if isinstance(output_type, GraphQLList):
        item = completer(output_type.of_type)
        return lambda value: None if value is None else [item(one) for one in value]
    serialize = output_type.serialize

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise FallbackError("a value its type cannot serialize")
        return serialized

    return leaf


def _value(leaf: Leaf, output_type: Any) -> Callable[[Row, Row | None], Any]:
    complete = completer(output_type)
    get = leaf.get
    if not leaf.by_value:
        return lambda row, parent: complete(get(row, parent))
    name = leaf.columns[0]
    done: dict[Any, Any] = {}

    def by_value(row: Row, parent: Row | None) -> Any:
        raw = row[name]
        if raw in done:
            return done[raw]
        value = done[raw] = complete(get(row, parent))
        return value

    return by_value


LEAF, TYPENAME, CHILDREN = 0, 1, 2


# The standard scalars whose serialize gives a value of this class back unchanged.
_AS_IS: dict[Any, type] = {
    serialize_string: str,
    serialize_id: str,
    serialize_int: int,
    serialize_boolean: bool,
}


@dataclass(frozen=True)
class LeafPlan:
    """A leaf's value (``value(row, parent)``), and when it is a stored column of a standard
    scalar, what lets the builder take it as it is: the column, the class that needs no
    serializing, and the completer for any other value (a null, a value to convert)."""

    value: Callable[[Row, Row | None], Any]
    column: str | None = None
    as_is: type | None = None
    complete: Callable[[Any], Any] | None = None


def _leaf_plan(leaf: Leaf, output_type: Any) -> LeafPlan:
    value = _value(leaf, output_type)
    named = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
    as_is = _AS_IS.get(getattr(named, "serialize", None)) if leaf.plain else None
    if as_is is None:
        return LeafPlan(value)
    return LeafPlan(value, leaf.columns[0], as_is, completer(output_type))


@dataclass
class ObjectPlan:
    """One level: an RMA order or a line. ``entries`` are (response key, kind, payload);
    ``build(row, parent)`` makes the level's object, a function generated once per plan."""

    type_name: str
    entries: list[tuple[str, int, Any]] = field(default_factory=list)
    columns: dict[str, None] = field(default_factory=dict)
    # The parent's columns this level's values read (a line's price: the currency).
    parent_columns: dict[str, None] = field(default_factory=dict)
    # (key the children are kept under in each row, the children's plan)
    children: list[tuple[object, "ObjectPlan"]] = field(default_factory=list)
    build: Callable[[Row, Row | None], dict[str, Any]] = field(init=False)

    def generate(self) -> None:
        """Write ``build`` as one dictionary display: no loop over the entries, no call
        for a stored string, number or flag that needs no serializing."""
        names: dict[str, Any] = {}
        items = []
        for index, (key, kind, payload) in enumerate(self.entries):
            if kind == TYPENAME:
                items.append(f"{key!r}: {payload!r}")
            elif kind == CHILDREN:
                token, plan = payload
                names[f"t{index}"], names[f"b{index}"] = token, plan.build
                items.append(f"{key!r}: [b{index}(child, row) for child in row[t{index}]]")
            elif payload.as_is is None:
                names[f"f{index}"] = payload.value
                items.append(f"{key!r}: f{index}(row, parent)")
            else:
                names[f"c{index}"], names[f"k{index}"] = payload.complete, payload.as_is
                items.append(
                    f"{key!r}: v if (v := row[{payload.column!r}]).__class__ is k{index} else c{index}(v)"
                )
        source = "def build(row, parent):\n    return {" + ", ".join(items) + "}\n"
        exec(compile(source, f"<plan of {self.type_name}>", "exec"), names)
        self.build = names["build"]


_TABLES: dict[str, tuple[dict[str, Leaf], str | None]] = {
    "RmaOrderType": (RMA_ORDER_FIELDS, "lines"),
    "RmaOrderLine": (LINE_FIELDS, None),
}


def object_plan(
    schema: GraphQLSchema, selection: Selection, type_name: str, nodes: list[FieldNode]
) -> ObjectPlan:
    """The plan of an RMA order or a line, for the merged selection of ``nodes``."""
    object_type = schema.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    leaves, child_field = _TABLES[type_name]
    plan = ObjectPlan(type_name)
    plan.columns["id"] = None
    for key, field_nodes in selection.collect(type_name, nodes).items():
        name = field_nodes[0].name.value
        if name == "__typename":
            plan.entries.append((key, TYPENAME, type_name))
        elif name in leaves and not field_nodes[0].arguments:
            leaf = leaves[name]
            plan.columns.update(dict.fromkeys(leaf.columns))
            for parent_column in LINE_PARENT_COLUMNS.get(name, ()) if type_name == "RmaOrderLine" else ():
                plan.parent_columns[parent_column] = None
            plan.entries.append((key, LEAF, _leaf_plan(leaf, object_type.fields[name].type)))
        elif name == child_field and not field_nodes[0].arguments:
            child = object_plan(schema, selection, "RmaOrderLine", field_nodes)
            plan.columns.update(child.parent_columns)
            token = object()
            plan.children.append((token, child))
            plan.entries.append((key, CHILDREN, (token, child)))
        else:
            raise NotCompilableError(f"{type_name}.{name}")
    plan.generate()
    return plan


def scalar_entries(
    schema: GraphQLSchema, selection: Selection, type_name: str, nodes: list[FieldNode], known: set[str]
) -> list[tuple[str, str]]:
    """(response key, field name) of a selection of plain fields (a page's info), the
    ``__typename`` included; anything else is not compilable."""
    found = []
    for key, field_nodes in selection.collect(type_name, nodes).items():
        name = field_nodes[0].name.value
        if name != "__typename" and (name not in known or field_nodes[0].arguments):
            raise NotCompilableError(f"{type_name}.{name}")
        found.append((key, name))
    return found
