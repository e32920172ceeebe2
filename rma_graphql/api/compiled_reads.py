"""Compiled reads: a validated query document that asks only for what a plan answers (RMA
orders by id and in pages, their columns, lines, linked orders and financial resolutions)
runs as a few statements reading
only the selected columns, and builders that make the response's objects directly.

Everything else, and every request the plan cannot answer exactly as strawberry would (an
error, a null, a refusal), runs through strawberry's execution unchanged: the plan returns
``None`` and the view executes the operation as usual, in the same snapshot.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    specified_rules,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from rma_graphql.api.compiled_plan import (
    FallbackError,
    NotCompilableError,
    ObjectPlan,
    Selection,
    object_plan,
    scalar_entries,
)
from rma_graphql.api.context import Context
from rma_graphql.api.errors import unstorable_text_error
from rma_graphql.api.inputs import parse_uuid
from rma_graphql.api.limits import operation_cost
from rma_graphql.api.observability import current_record
from rma_graphql.api.plan_documents import Documents, valid_operation
from rma_graphql.api.plan_variables import Simple, coerce_variables, simple_variables
from rma_graphql.api.rma_order_type import rma_order_criteria
from rma_graphql.api.schema import _LIMIT_RULES, MAX_COST
from rma_graphql.domain import access
from rma_graphql.domain.errors import DomainError
from rma_graphql.service import queries

logger = logging.getLogger("rma_graphql.compiled_reads")

_PAGE_INFO = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
_EDGE = {"cursor", "node"}
_CONNECTION = {"edges", "nodes", "pageInfo", "totalCount", "totalCountEstimate"}


@dataclass
class RootField:
    key: str
    name: str
    nodes: list[FieldNode]
    # rmaOrder: the RMA order's plan; rmaOrders: the plans of nodes and of edges' nodes.
    plans: dict[str, ObjectPlan] = field(default_factory=dict)
    connection: list[tuple[str, str]] = field(default_factory=list)
    edge: list[tuple[str, str]] = field(default_factory=list)
    page_info: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Plan:
    roots: list[RootField]
    # Whether the operation reads one RMA order and nothing else.
    single: bool = False


@dataclass
class _Document:
    """A document that may be compiled: its operation and what its plans depend on."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    operation_name: str | None
    # The variables @skip and @include read: a plan per combination of their values.
    directive_variables: tuple[str, ...]
    simple_variables: Simple | None  # its variables, when plan_variables coerces them
    plans: dict[tuple[Any, ...], Plan | None] = field(default_factory=dict)

    @cached_property
    def described(self) -> dict[str, Any]:
        """What the request's log line and metrics say of the operation."""
        selections = self.operation.selection_set.selections
        fields = sorted({s.name.value for s in selections if isinstance(s, FieldNode)} - {"__typename"})
        return {
            "operation_name": self.operation.name.value if self.operation.name else None,
            "operation_type": "query",
            "root_fields": fields,
            "outcome": "ok",
            "operation_label": f"query {','.join(fields)}",
        }


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in ("skip", "include"):
                for argument in directive.arguments:
                    if argument.value.kind == "variable":
                        found[argument.value.name.value] = None
        selection_set = getattr(node, "selection_set", None)
        for selection in selection_set.selections if selection_set is not None else ():
            walk(selection)

    for definition in document.definitions:
        walk(definition)
    return tuple(found)


class ReadPlans:
    """The compiled plans of one schema, by document text and operation name."""

    def __init__(self, schema: Any, count: Callable[[str], None] | None = None) -> None:
        self.strawberry = schema
        self.schema = schema._schema
        self.rules = (*specified_rules, *_LIMIT_RULES)
        self.count = count or (lambda outcome: None)
        self._documents = Documents(self._analyse)
        self._fields = {name: schema.get_field_for_type(name, "Query") for name in ("rmaOrder", "rmaOrders")}
        # Per root field, its arguments' Python names by graphql name, and those of a built-in
        # scalar type (a value strawberry converts to itself, as it does null).
        self._plain = {name: plain_arguments(schema, found) for name, found in self._fields.items()}

    def rma_order_plan(self, selection: str) -> ObjectPlan:
        """The plan of an RMA order selected as ``selection`` (``{ id lines { sku } }``), for
        objects the server makes of its own accord (webhook bodies)."""
        found = self.document(f'{{ rmaOrder(id: "") {selection} }}', None)
        if found is None:
            raise ValueError(f"not a selection a plan answers: {selection}")
        plan = self._compile(found, get_variable_values(self.schema, (), {}))  # type: ignore[arg-type]
        return plan.roots[0].plans["rma"]

    def answers(self, query: str | None, operation_name: str | None) -> bool:
        """Whether a plan may answer the document (a valid query of fields plans read)."""
        return query is not None and self.document(query, operation_name) is not None

    def document(self, query: str, operation_name: str | None) -> _Document | None:
        return self._documents.get(query, operation_name)

    def _analyse(self, query: str, operation_name: str | None) -> _Document | None:
        """The document, if it is a valid query whose root fields a plan may answer."""
        valid = valid_operation(self.schema, self.rules, query, operation_name, OperationType.QUERY)
        if valid is None:
            return None
        document, operation = valid
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        simple = simple_variables(self.schema, operation.variable_definitions or ())
        return _Document(
            document, operation, fragments, operation_name, _directive_variables(document), simple
        )

    def _plan(self, found: _Document, variables: VariableValues) -> Plan | None:
        key = tuple(variables.coerced.get(name) for name in found.directive_variables)
        if key in found.plans:
            return found.plans[key]
        try:
            plan: Plan | None = self._compile(found, variables)
        except NotCompilableError as reason:
            logger.debug("not compiled: %s", reason)
            plan = None
        if len(found.plans) < 64:
            found.plans[key] = plan
        return plan

    def _compile(self, found: _Document, variables: VariableValues) -> Plan:
        selection = Selection(found.fragments, variables)
        roots = []
        collected = selection.collect("Query", [_root_node(found.operation)])
        for key, nodes in collected.items():
            name = nodes[0].name.value
            root = RootField(key, name, nodes)
            if name == "rmaOrder":
                root.plans["rma"] = object_plan(self.schema, selection, "RmaOrderType", nodes)
            elif name == "rmaOrders":
                self._compile_connection(selection, root)
            elif name != "__typename":
                raise NotCompilableError(f"Query.{name}")
            roots.append(root)
        names = [root.name for root in roots if root.name != "__typename"]
        return Plan(
            roots, single=names == ["rmaOrder"] or (names == ["rmaOrders"] and _one_statement(roots[-1]))
        )

    def _compile_connection(self, selection: Selection, root: RootField) -> None:
        for key, nodes in selection.collect("RmaOrderConnection", root.nodes).items():
            name = nodes[0].name.value
            if name not in _CONNECTION and name != "__typename":
                raise NotCompilableError(f"RmaOrderConnection.{name}")
            root.connection.append((key, name))
            if name == "nodes":
                root.plans[key] = object_plan(self.schema, selection, "RmaOrderType", nodes)
            elif name == "pageInfo":
                root.page_info = scalar_entries(self.schema, selection, "PageInfo", nodes, _PAGE_INFO)
            elif name == "edges":
                if root.edge:
                    raise NotCompilableError("two edges fields")
                root.edge = scalar_entries(self.schema, selection, "RmaOrderEdge", nodes, _EDGE)
                for edge_key, edge_nodes in selection.collect("RmaOrderEdge", nodes).items():
                    if edge_nodes[0].name.value == "node":
                        root.plans["edge:" + edge_key] = object_plan(
                            self.schema, selection, "RmaOrderType", edge_nodes
                        )

    async def run(self, context: Context, request_data: Any) -> dict[str, Any] | None:
        """The operation's data through its plan, or None: strawberry is to execute it."""
        query = getattr(request_data, "query", None)
        if not isinstance(query, str):
            return None
        found = self.document(query, request_data.operation_name)
        if found is None:
            return None
        started = time.perf_counter()
        try:
            data = await self.data_of(context, found, query, request_data.variables)
        except FallbackError as reason:
            self._observe(context, found, "fallback", started, str(reason))
            return None
        except GraphQLError as error:  # a value its type cannot serialize: strawberry says so
            self._observe(context, found, "fallback", started, error.message)
            return None
        except Exception:
            # Whatever else went wrong, per-field execution answers (and reports it).
            logger.warning("a compiled read failed; per-field execution answers", exc_info=True)
            self._observe(context, found, "fallback", started, "error")
            return None
        if data is None:
            return None
        self._observe(context, found, "compiled", started)
        return data

    async def data_of(
        self, context: Context, found: _Document, query: str, raw: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        definitions = found.operation.variable_definitions or ()
        coerced = coerce_variables(self.schema, definitions, found.simple_variables, raw or {})
        if isinstance(coerced, list):
            raise FallbackError("variables")
        if operation_cost(self.schema, found.document, found.operation_name, raw, text=query) > MAX_COST:
            raise FallbackError("cost")
        if unstorable_text_error(query, raw) is not None:
            raise FallbackError("text")
        plan = self._plan(found, coerced)
        if plan is None:
            return None
        caller = context.caller
        if caller is None or access.VIEW_RMA_ORDERS not in caller.scopes:
            raise FallbackError("scope")
        data: dict[str, Any] = {}
        for root in plan.roots:
            if root.name == "__typename":
                data[root.key] = self.schema.query_type.name
            elif root.name == "rmaOrder":
                data[root.key] = await self._rma_order(context, root, coerced, alone=plan.single)
            else:
                data[root.key] = await self._rma_orders(context, root, coerced, alone=plan.single)
        return data

    def _arguments(self, root: RootField, variables: VariableValues) -> dict[str, Any]:
        definition = self.schema.query_type.fields[root.name]
        try:
            values = get_argument_values(definition, root.nodes[0], variables)
            names, plain = self._plain[root.name]
            if all(value is None or name in plain for name, value in values.items()):
                return {names[name]: value for name, value in values.items()}
            return convert_arguments(
                values,
                self._fields[root.name].arguments,
                scalar_registry=self.strawberry.schema_converter.scalar_registry,
                config=self.strawberry.config,
            )
        except Exception as error:  # what strawberry would refuse, in its own words
            raise FallbackError("arguments") from error

    async def _rma_order(
        self, context: Context, root: RootField, variables: VariableValues, *, alone: bool
    ) -> Any:
        """One RMA order (``alone``: the operation's only root field, so with at most one
        list of lines it is one statement, its own snapshot)."""
        arguments = self._arguments(root, variables)
        given = arguments.get("id")
        if given is None or arguments.get("by_external_id") is not None:
            raise FallbackError("not by id")
        try:
            rma_id = parse_uuid(given, "id")
        except DomainError as error:
            raise FallbackError("id") from error
        plan = root.plans["rma"]
        caller = context.authenticated
        if alone and [child.relation for child in plan.children] == ["lines"]:
            joined = await queries.rma_order_with_line_values(
                context.uow, caller, rma_id, tuple(plan.columns), tuple(plan.children[0].columns)
            )
            if joined is None:
                raise FallbackError("not found")
            row, lines = joined
            return plan.build_joined(row, None, (lines,))
        found = await queries.rma_order_values(
            context.uow, caller, rma_id, tuple(plan.columns), alone=alone and not plan.children
        )
        if found is None:
            raise FallbackError("not found")
        children = await _load_children(context, plan, [found])
        return plan.build(found, None, children[0])

    async def _rma_orders(
        self, context: Context, root: RootField, variables: VariableValues, *, alone: bool
    ) -> Any:
        """A page (``alone``: its RMA orders read one list of lines and nothing else, so the
        page and the lines are one statement)."""
        arguments = self._arguments(root, variables)
        page_of = {
            "first": arguments.get("first", 50),
            "after": arguments.get("after"),
            "sort": arguments["sort"].value if "sort" in arguments else "CREATED_AT_DESC",
        }
        uow, caller = context.uow, context.authenticated
        try:
            criteria = rma_order_criteria(arguments.get("filter"))
            if alone:
                child = next(child for plan in root.plans.values() for child in plan.children)
                page, lines = await queries.rma_order_page_with_line_values(
                    uow, caller, criteria, _columns(root), tuple(child.columns), **page_of
                )
            else:
                page = await queries.rma_order_page_values(uow, caller, criteria, _columns(root), **page_of)
        except DomainError as error:
            raise FallbackError("list arguments") from error
        objects = {}
        for key, plan in root.plans.items():
            if alone:
                objects[key] = [
                    plan.build_joined(row, None, (found,) if plan.children else ())
                    for row, found in zip(page.rows, lines, strict=True)
                ]
            else:
                children = await _load_children(context, plan, page.rows)
                objects[key] = [
                    plan.build(row, None, found) for row, found in zip(page.rows, children, strict=True)
                ]
        return await self._connection(context, root, page, criteria, objects)

    async def _connection(
        self,
        context: Context,
        root: RootField,
        page: Any,
        criteria: queries.RmaOrderFilter,
        objects: dict[str, list[dict[str, Any]]],
    ) -> dict[str, Any]:
        """The connection's fields, with each plan's RMA orders (``objects``) built."""
        matches = queries.RmaOrderMatches(context.uow, context.authenticated, criteria)
        out: dict[str, Any] = {}
        for key, name in root.connection:
            if name == "nodes":
                out[key] = objects[key]
            elif name == "edges":
                out[key] = _edges(root, page, objects)
            elif name == "pageInfo":
                out[key] = _page_info(root.page_info, page)
            elif name == "totalCount":
                out[key] = await matches.exact()
            elif name == "totalCountEstimate":
                out[key] = await matches.estimate()
            else:
                out[key] = "RmaOrderConnection"
        return out

    def _observe(
        self, context: Context, found: _Document, outcome: str, started: float, reason: str = ""
    ) -> None:
        self.count(outcome)
        record = current_record()
        if record is None:
            return
        record.fields["read_plan"] = outcome
        record.fields["read_plan_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if reason:
            record.fields["read_plan_fallback"] = reason
        if outcome != "compiled":
            return  # strawberry's execution names the operation
        caller = context.caller
        record.fields.update(
            found.described,
            organization_id=caller.organization_id if caller is not None else None,
            actor_type=caller.actor.get("type") if caller is not None else None,
            actor_id=caller.actor.get("id") if caller is not None else None,
        )


_BUILT_IN_SCALARS = (str, int, float, bool)


def plain_arguments(schema: Any, found: Any) -> tuple[dict[str, str], frozenset[str]]:
    """A field's arguments' Python names by graphql name, and the graphql names of those of a
    built-in scalar type (optional or not), whose converted value is graphql-core's."""
    names, plain = {}, set()
    for argument in found.arguments:
        name = schema.config.name_converter.from_argument(argument)
        names[name] = argument.python_name
        kind = argument.type
        kind = getattr(kind, "of_type", kind) if type(kind).__name__ == "StrawberryOptional" else kind
        if kind in _BUILT_IN_SCALARS:
            plain.add(name)
    return names, frozenset(plain)


def _columns(root: RootField) -> tuple[str, ...]:
    """The RMA order columns every plan of a page reads."""
    return tuple(dict.fromkeys(c for plan in root.plans.values() for c in plan.columns))


def _one_statement(root: RootField) -> bool:
    """Whether a page reads its RMA orders and one list of lines, and no count."""
    counts = {name for _, name in root.connection} & {"totalCount", "totalCountEstimate"}
    relations = [child.relation for plan in root.plans.values() for child in plan.children]
    return not counts and relations == ["lines"]


def _root_node(operation: OperationDefinitionNode) -> FieldNode:
    """The operation's selection as if it were a field's (to collect it like one)."""
    return FieldNode(
        name=NameNode(value="query"), selection_set=operation.selection_set, arguments=(), directives=()
    )


async def _load_children(
    context: Context, plan: ObjectPlan, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Sequence[Mapping[str, Any]], ...]]:
    """Each row's children: for each of the plan's children plans, the row's lines (or the
    one row it refers to)."""
    found = [
        await queries.child_values(
            context.uow,
            context.authenticated,
            child.relation,
            [row[child.parent_key] for row in rows],
            tuple(child.columns),
        )
        for child in plan.children
    ]
    return [tuple(lists[index] for lists in found) for index in range(len(rows))]


def _edges(root: RootField, page: Any, objects: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    cursors = page.cursors
    edges = []
    for index in range(len(page.rows)):
        edge: dict[str, Any] = {}
        for key, name in root.edge:
            if name == "cursor":
                edge[key] = cursors[index]
            elif name == "node":
                edge[key] = objects["edge:" + key][index]
            else:
                edge[key] = "RmaOrderEdge"
        edges.append(edge)
    return edges


def _page_info(entries: list[tuple[str, str]], page: Any) -> dict[str, Any]:
    values = {
        "hasNextPage": page.has_next_page,
        "hasPreviousPage": page.has_previous_page,
        "startCursor": page.start_cursor,
        "endCursor": page.end_cursor,
        "__typename": "PageInfo",
    }
    return {key: values[name] for key, name in entries}
