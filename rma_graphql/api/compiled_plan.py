"""Compiling a validated read document into a plan: which columns each level reads, and a
builder that turns rows into the response's objects.

The plan walks the selection as graphql-core's execution would (fields merged by response
key in document order, fragments and inline fragments expanded once, ``@skip`` and
``@include`` decided by the variables) and completes every value as graphql-core does (the
output type's ``serialize``; a null where the type forbids one is not compiled: it makes
the operation run through strawberry, which answers with the error). A field the plan
does not know makes the whole operation uncompilable.
"""

from collections.abc import Callable, Mapping, Sequence
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

from rma_graphql.api.compiled_fields import (
    ACTOR_FIELDS,
    COMMENT_FIELDS,
    CONTACT_FIELDS,
    FINANCIAL_RESOLUTION_FIELDS,
    LINE_FIELDS,
    LINKED_ORDER_FIELDS,
    LOCATION_FIELDS,
    ORGANIZATION_FIELDS,
    RMA_ORDER_FIELDS,
    SHIPMENT_FIELDS,
    Leaf,
    Row,
    actor_row,
    contact_row,
)

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


LEAF, TYPENAME, CHILDREN, EMBEDDED, REFERRED = 0, 1, 2, 3, 4
# The prefix of a line's columns where they are read joined to their RMA order's.
JOINED = "line__"

# The standard scalars whose serialize gives a value of this class back unchanged.
_AS_IS: dict[Any, type] = {
    serialize_string: str,
    serialize_id: str,
    serialize_int: int,
    serialize_boolean: bool,
}


@dataclass(frozen=True)
class LeafPlan:
    """A leaf, the completer of its type and, for a stored column of a standard scalar, the
    class of the values that need no serializing."""

    leaf: Leaf
    complete: Callable[[Any], Any]
    as_is: type | None


def _leaf_plan(leaf: Leaf, output_type: Any) -> LeafPlan:
    named = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
    as_is = _AS_IS.get(getattr(named, "serialize", None)) if leaf.compute is None else None
    return LeafPlan(leaf, completer(output_type), as_is)


def _by_value(plan: LeafPlan, done: dict[Any, Any]) -> Callable[[Any], Any]:
    compute, complete = plan.leaf.compute, plan.complete
    assert compute is not None

    def first_time(value: Any) -> Any:
        answer = done[value] = complete(compute(value))
        return answer

    return first_time


def _leaf_source(index: int, plan: LeafPlan, prefix: str, names: dict[str, Any]) -> str:
    """The expression of one leaf's answer in a generated builder."""
    leaf = plan.leaf
    values = [f"row[{prefix + name!r}]" for name in leaf.columns]
    values += [f"parent[{name!r}]" for name in leaf.parent_columns]
    names[f"c{index}"] = plan.complete
    if leaf.compute is None and plan.as_is is not None:
        names[f"k{index}"] = plan.as_is
        return f"v if (v := {values[0]}).__class__ is k{index} else c{index}(v)"
    if leaf.compute is None:
        return f"c{index}({values[0]})"
    if leaf.by_value:
        done: dict[Any, Any] = {}
        names[f"d{index}"], names[f"e{index}"] = done, _by_value(plan, done)
        return f"d{index}[v] if (v := {values[0]}) in d{index} else e{index}(v)"
    names[f"f{index}"] = leaf.compute
    return f"c{index}(f{index}({', '.join(values)}))"


Build = Callable[[Row, Row | None, Sequence[Sequence[Row]]], dict[str, Any]]


@dataclass
class ObjectPlan:
    """One level: an RMA order or a line. ``entries`` are (response key, kind, payload);
    ``build(row, parent, children)`` makes the level's object from its row, its parent's
    row and the rows of each of its ``children`` plans, a function generated once per plan;
    ``build_joined`` does it from rows that join each line to its RMA order."""

    type_name: str
    entries: list[tuple[str, int, Any]] = field(default_factory=list)
    columns: dict[str, None] = field(default_factory=dict)
    # The parent's columns this level's values read (a line's price: the currency).
    parent_columns: dict[str, None] = field(default_factory=dict)
    children: list["ObjectPlan"] = field(default_factory=list)
    # What reads this level's rows as a child (``lines``, ``linked_orders``), and the
    # parent's column whose values it reads them by (a referred row's: ``location_id``).
    relation: str = ""
    parent_key: str = "id"
    build: Build = field(init=False)
    build_joined: Build = field(init=False)

    def generate(self, *, joined: bool) -> Build:
        """``build`` as one dictionary display: no loop over the entries, no call for a
        stored string, number or flag that needs no serializing."""
        prefix = JOINED if joined and self.type_name == "RmaOrderLine" else ""
        names: dict[str, Any] = {}
        items = []
        for index, (key, kind, payload) in enumerate(self.entries):
            if kind == TYPENAME:
                items.append(f"{key!r}: {payload!r}")
            elif kind == CHILDREN:
                position, plan = payload
                names[f"b{index}"] = plan.build_joined if joined else plan.build
                items.append(f"{key!r}: [b{index}(child, row, ()) for child in children[{position}]]")
            elif kind == REFERRED:
                position, refer = payload
                names[f"r{index}"] = refer
                items.append(f"{key!r}: r{index}(children[{position}], row)")
            elif kind == EMBEDDED:
                column_name, embed = payload
                names[f"e{index}"] = embed
                items.append(f"{key!r}: e{index}(row[{prefix + column_name!r}])")
            else:
                items.append(f"{key!r}: {_leaf_source(index, payload, prefix, names)}")
        source = "def build(row, parent, children):\n    return {" + ", ".join(items) + "}\n"
        exec(compile(source, f"<plan of {self.type_name}>", "exec"), names)
        built: Build = names["build"]
        return built


# Per object type: its leaves, and its lists of children by field (the child's type and
# the relation that reads them).
_TABLES: dict[str, tuple[dict[str, Leaf], dict[str, tuple[str, str]]]] = {
    "RmaOrderType": (
        RMA_ORDER_FIELDS,
        {
            "lines": ("RmaOrderLine", "lines"),
            "linkedOrders": ("RmaOrderLinkedOrder", "linked_orders"),
            "financialResolutions": ("RmaFinancialResolutionRequest", "financial_resolutions"),
            "shipments": ("RmaShipment", "shipments"),
            "comments": ("RmaComment", "comments"),
        },
    ),
    "RmaComment": (COMMENT_FIELDS, {}),
    "RmaActor": (ACTOR_FIELDS, {}),
    "RmaShipment": (SHIPMENT_FIELDS, {}),
    "RmaContact": (CONTACT_FIELDS, {}),
    "Location": (LOCATION_FIELDS, {}),
    "Organization": (ORGANIZATION_FIELDS, {}),
    "RmaOrderLine": (LINE_FIELDS, {}),
    "RmaOrderLinkedOrder": (LINKED_ORDER_FIELDS, {}),
    "RmaFinancialResolutionRequest": (FINANCIAL_RESOLUTION_FIELDS, {}),
}


# Per object type: the rows it refers to by a column (the field, the object's type, the
# relation that reads it, the referring column).
_REFERRED: dict[str, dict[str, tuple[str, str, str]]] = {
    "RmaOrderType": {
        "location": ("Location", "location", "location_id"),
        "organization": ("Organization", "organization", "organization_id"),
    },
}


def _referrer(plan: "ObjectPlan", output_type: Any) -> Callable[[Sequence[Row], Row], Any]:
    """The object a row refers to (its one row read, or none), as its field completes it."""
    non_null = isinstance(output_type, GraphQLNonNull)
    build = plan.build

    def referred(found: Sequence[Row], parent: Row) -> Any:
        if not found:
            if non_null:
                raise FallbackError("null in a non-null field")
            return None
        return build(found[0], parent, ())

    return referred


# Per object type: its objects kept in a JSON column (the column, the object's type, what
# makes the object's row of the column's value).
_EMBEDDED: dict[str, dict[str, tuple[str, str, Callable[[Any], Row | None]]]] = {
    "RmaOrderType": {
        "sender": ("sender", "RmaContact", contact_row),
        "deliveryContact": ("delivery_contact", "RmaContact", contact_row),
        "owner": ("owner", "RmaContact", contact_row),
        "billingContact": ("billing_contact", "RmaContact", contact_row),
    },
    "Location": {"contact": ("contact", "RmaContact", contact_row)},
    "RmaComment": {"author": ("author", "RmaActor", actor_row)},
}


def _embedder(
    plan: "ObjectPlan", row_of: Callable[[Any], Row | None], output_type: Any
) -> Callable[[Any], Any]:
    """The object of a JSON column's value, as its field completes it: null when the value is
    (an error where the type forbids it: strawberry answers), else built by ``plan``."""
    non_null = isinstance(output_type, GraphQLNonNull)
    build = plan.build

    def embedded(value: Any) -> Any:
        if value is None:
            if non_null:
                raise FallbackError("null in a non-null field")
            return None
        row = row_of(value)
        if row is None:
            raise FallbackError("a stored object its type cannot read")
        return build(row, None, ())

    return embedded


def object_plan(
    schema: GraphQLSchema, selection: Selection, type_name: str, nodes: list[FieldNode]
) -> ObjectPlan:
    """The plan of an RMA order or a line, for the merged selection of ``nodes``."""
    object_type = schema.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    leaves, child_fields = _TABLES[type_name]
    embedded = _EMBEDDED.get(type_name, {})
    referred = _REFERRED.get(type_name, {})
    plan = ObjectPlan(type_name)
    plan.columns["id"] = None
    for key, field_nodes in selection.collect(type_name, nodes).items():
        name = field_nodes[0].name.value
        if name == "__typename":
            plan.entries.append((key, TYPENAME, type_name))
        elif name in leaves and not field_nodes[0].arguments:
            leaf = leaves[name]
            plan.columns.update(dict.fromkeys(leaf.columns))
            plan.parent_columns.update(dict.fromkeys(leaf.parent_columns))
            plan.entries.append((key, LEAF, _leaf_plan(leaf, object_type.fields[name].type)))
        elif name in child_fields and not field_nodes[0].arguments:
            child_type, relation = child_fields[name]
            child = object_plan(schema, selection, child_type, field_nodes)
            child.relation = relation
            plan.columns.update(child.parent_columns)
            plan.entries.append((key, CHILDREN, (len(plan.children), child)))
            plan.children.append(child)
        elif name in referred and not field_nodes[0].arguments:
            child_type, relation, parent_key = referred[name]
            child = object_plan(schema, selection, child_type, field_nodes)
            child.relation, child.parent_key = relation, parent_key
            plan.columns[parent_key] = None
            refer = _referrer(child, object_type.fields[name].type)
            plan.entries.append((key, REFERRED, (len(plan.children), refer)))
            plan.children.append(child)
        elif name in embedded and not field_nodes[0].arguments:
            column_name, child_type, row_of = embedded[name]
            inner = object_plan(schema, selection, child_type, field_nodes)
            plan.columns[column_name] = None
            embed = _embedder(inner, row_of, object_type.fields[name].type)
            plan.entries.append((key, EMBEDDED, (column_name, embed)))
        else:
            raise NotCompilableError(f"{type_name}.{name}")
    plan.build = plan.generate(joined=False)
    plan.build_joined = plan.generate(joined=True)
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
