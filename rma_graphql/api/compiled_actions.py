"""Compiled actions: a validated mutation document whose only root field is one action of an
RMA order's state machines (``rmaOrderSubmit``, ``rmaOrderAccept``, … the fields of
``RmaActionMutation``) runs that field's resolver as strawberry would, without strawberry's
execution around it, and answers with the RMA order read through the compiled read plan of
the same selection (``rmaOrder(id:)`` selected as the mutation's answer is).

Whatever it cannot do exactly as strawberry would goes to strawberry:
- before the change: a document it does not know, variables or arguments strawberry refuses,
  a dry run, a caller without the field's scope, and every refusal of the change itself (its
  transaction rolled back, nothing written: strawberry runs the mutation again and refuses in
  its own words, or makes it if a concurrent change now allows it);
- once the change is made: an answer the plan cannot give at the version the change wrote (a
  concurrent change came between, a plan that declines) is rebuilt by strawberry from that
  version, as the answer of an idempotent request is (``service.idempotency.replay``).
"""

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    print_ast,
)
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from rma_graphql.api.compiled_plan import FallbackError
from rma_graphql.api.compiled_reads import ReadPlans, plain_arguments
from rma_graphql.api.context import Context
from rma_graphql.api.errors import format_errors, unstorable_text_error
from rma_graphql.api.ids import parse_uuid
from rma_graphql.api.limits import operation_cost
from rma_graphql.api.observability import current_record
from rma_graphql.api.plan_documents import Documents, valid_operation
from rma_graphql.api.plan_variables import Simple, coerce_variables, simple_variables
from rma_graphql.api.rma_actions import RmaActionMutation
from rma_graphql.api.schema import MAX_COST
from rma_graphql.domain.errors import DomainError
from rma_graphql.service import queries
from rma_graphql.service.unit_of_work import forget_written, written_version

logger = logging.getLogger("rma_graphql.compiled_actions")

# The alias under which the answer's plan also reads the version (removed from the answer).
_VERSION = "rmaActionAnsweredVersion"


@dataclass(frozen=True)
class Replay:
    """The change is made; strawberry rebuilds its answer from these versions."""

    versions: dict[str, int]


@dataclass(frozen=True)
class Declined:
    """Nothing is written; strawberry is to run the mutation (``reason``: why)."""

    reason: str


@dataclass(frozen=True)
class Answered:
    """The operation's response body: data, or the error strawberry would give."""

    body: dict[str, Any]


# What /metrics and the log line call each outcome.
_OUTCOMES: dict[type, str] = {Declined: "fallback", Replay: "replayed"}


@dataclass
class _Action:
    """A mutation document that may run as a compiled action."""

    document: DocumentNode
    operation: OperationDefinitionNode
    node: FieldNode
    simple: Simple | None
    # The query that reads the answer: its text, and the variables it takes.
    answer: str
    answer_variables: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.node.alias.value if self.node.alias else self.node.name.value

    @cached_property
    def described(self) -> dict[str, Any]:
        """What the request's log line and metrics say of the operation."""
        name = self.node.name.value
        return {
            "operation_name": self.operation.name.value if self.operation.name else None,
            "operation_type": "mutation",
            "root_fields": [name],
            "outcome": "ok",
            "operation_label": f"mutation {name}",
        }


@dataclass
class _Info:
    """What a resolver of ``RmaActionMutation`` reads of its info: the context; and that the
    answer is read here (the resolver makes none)."""

    context: Context
    answered_by_plan: bool = True


class ActionPlans:
    """The compiled actions of one schema, by document text and operation name."""

    def __init__(self, read_plans: ReadPlans, count: Callable[[str], None] | None = None) -> None:
        self.read_plans = read_plans
        self.strawberry = read_plans.strawberry
        self.schema = read_plans.schema
        self.rules = read_plans.rules
        self.count = count or (lambda outcome: None)
        self._documents = Documents(self._analyse)
        converter = self.strawberry.config.name_converter
        definition = RmaActionMutation.__strawberry_definition__  # type: ignore[attr-defined]
        names = [converter.get_graphql_name(found) for found in definition.fields]
        self._fields = {name: self.strawberry.get_field_for_type(name, "Mutation") for name in names}
        self._plain = {name: plain_arguments(self.strawberry, found) for name, found in self._fields.items()}

    def answers(self, query: str | None, operation_name: str | None) -> bool:
        """Whether the document is one action a compiled action may run."""
        return query is not None and self.document(query, operation_name) is not None

    def document(self, query: str, operation_name: str | None) -> _Action | None:
        return self._documents.get(query, operation_name)

    def _analyse(self, query: str, operation_name: str | None) -> _Action | None:
        valid = valid_operation(self.schema, self.rules, query, operation_name, OperationType.MUTATION)
        if valid is None:
            return None
        document, operation = valid
        roots = operation.selection_set.selections
        node = roots[0] if len(roots) == 1 else None
        if not isinstance(node, FieldNode) or node.directives or node.name.value not in self._fields:
            return None
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        if "id" not in given or node.selection_set is None:
            return None
        answer, used = _answer_query(document, operation, node, given["id"])
        if self.read_plans.document(answer, None) is None:
            return None
        simple = simple_variables(self.schema, operation.variable_definitions or ())
        return _Action(document, operation, node, simple, answer, used)

    async def run(self, context: Context, request_data: Any) -> Replay | Answered | None:
        """Runs the action: its answer, or a Replay once the change is made and strawberry is
        to answer it; None when strawberry is to run the whole mutation."""
        found = self.document(request_data.query, request_data.operation_name)
        if found is None:
            return None
        started = time.perf_counter()
        outcome = await self._run(context, found, request_data.query, request_data.variables or {})
        name = _OUTCOMES.get(type(outcome), "compiled")
        self.count(name)
        record = current_record()
        if record is not None:
            record.fields["action_plan"] = name
            record.fields["action_plan_ms"] = round((time.perf_counter() - started) * 1000, 3)
            if isinstance(outcome, Declined):
                record.fields["action_plan_fallback"] = outcome.reason
            elif isinstance(outcome, Answered):
                caller = context.caller
                record.fields.update(
                    found.described,
                    outcome=outcome.body["errors"][0]["extensions"]["code"]
                    if "errors" in outcome.body
                    else "ok",
                    organization_id=caller.organization_id if caller is not None else None,
                    actor_type=caller.actor.get("type") if caller is not None else None,
                    actor_id=caller.actor.get("id") if caller is not None else None,
                )
        return None if isinstance(outcome, Declined) else outcome

    async def _run(
        self, context: Context, found: _Action, query: str, raw: dict[str, Any]
    ) -> Replay | Answered | Declined:
        arguments = self._arguments(found, query, raw)
        if arguments is None:
            return Declined("arguments")
        if arguments.get("dry_run"):
            return Declined("dry run")
        resolver = self._fields[found.node.name.value]
        info = _Info(context)
        if any(not permission().has_permission(None, info) for permission in resolver.permission_classes):
            return Declined("scope")
        try:
            rma_id = parse_uuid(arguments["id"], "id")
        except DomainError:
            return Declined("arguments")
        forget_written()
        try:
            await resolver.base_resolver.wrapped_func(None, info, **arguments)
        except DomainError as refusal:  # nothing written: strawberry runs it and refuses alike
            return Declined(f"refused: {refusal.code}")
        except Exception as error:  # as strawberry answers it: masked, logged with a reference
            located = GraphQLError(str(error), nodes=[found.node], path=[found.key], original_error=error)
            return Answered({"data": None, "errors": [e.formatted for e in format_errors([located])]})
        version = written_version(rma_id)
        if version is None:
            return Declined("nothing written")  # nothing to change: strawberry runs it alike
        variables = {name: raw[name] for name in found.answer_variables if name in raw}
        try:
            data = await self._answer(context, found, variables)
        except (FallbackError, GraphQLError):  # an answer the plan leaves to strawberry
            data = None
        except Exception:
            logger.warning("a compiled action's answer failed; strawberry rebuilds it", exc_info=True)
            data = None
        answer = data.get(found.key) if data is not None else None
        if answer is None or answer.pop(_VERSION, None) != version:
            return Replay({rma_id: version})
        return Answered({"data": {found.key: answer}})

    def _arguments(self, found: _Action, query: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The field's arguments as its resolver takes them (None: strawberry is to refuse
        them, or to measure the operation)."""
        definitions = found.operation.variable_definitions or ()
        coerced = coerce_variables(self.schema, definitions, found.simple, raw)
        if isinstance(coerced, list):
            return None
        name = found.operation.name.value if found.operation.name else None
        if operation_cost(self.schema, found.document, name, raw, text=query) > MAX_COST:
            return None
        if unstorable_text_error(query, raw) is not None:
            return None
        assert self.schema.mutation_type is not None
        definition = self.schema.mutation_type.fields[found.node.name.value]
        resolver = self._fields[found.node.name.value]
        try:
            values = get_argument_values(definition, found.node, coerced)
            names, plain = self._plain[found.node.name.value]
            if all(value is None or name in plain for name, value in values.items()):
                return {names[name]: value for name, value in values.items()}
            converted: dict[str, Any] = convert_arguments(
                values,
                resolver.arguments,
                scalar_registry=self.strawberry.schema_converter.scalar_registry,
                config=self.strawberry.config,
            )
        except Exception:
            return None
        return converted

    async def _answer(self, context: Context, found: _Action, variables: dict[str, Any]) -> Any:
        plans = self.read_plans
        answer = plans.document(found.answer, None)
        assert answer is not None
        with queries.answering_change():
            return await plans.data_of(context, answer, found.answer, variables)


def _answer_query(
    document: DocumentNode, operation: OperationDefinitionNode, node: FieldNode, id_value: Any
) -> tuple[str, tuple[str, ...]]:
    """The query reading the action's answer: ``rmaOrder`` by the same id, selected as the
    mutation's answer is (under its response key), with the version under ``_VERSION``; and
    the variables it takes."""
    assert node.selection_set is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    version = FieldNode(
        alias=NameNode(value=_VERSION), name=NameNode(value="version"), arguments=(), directives=()
    )
    selection = SelectionSetNode(selections=(*node.selection_set.selections, version))
    root = FieldNode(
        alias=NameNode(value=node.alias.value if node.alias else node.name.value),
        name=NameNode(value="rmaOrder"),
        arguments=(ArgumentNode(name=NameNode(value="id"), value=id_value),),
        directives=(),
        selection_set=selection,
    )
    used_fragments = dict.fromkeys(_spreads(root, fragments))
    used = dict.fromkeys(_variables(root, fragments, used_fragments))
    definitions: list[VariableDefinitionNode] = [
        d for d in operation.variable_definitions or () if d.variable.name.value in used
    ]
    query = OperationDefinitionNode(
        operation=OperationType.QUERY,
        variable_definitions=tuple(definitions),
        directives=(),
        selection_set=SelectionSetNode(selections=(root,)),
    )
    answer = DocumentNode(definitions=(query, *(fragments[name] for name in used_fragments)))
    return print_ast(answer), tuple(used)


def _spreads(
    node: Any, fragments: dict[str, FragmentDefinitionNode], seen: set[str] | None = None
) -> Iterator[str]:
    seen = set() if seen is None else seen
    selection_set = getattr(node, "selection_set", None)
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                yield name
                yield from _spreads(fragments[name], fragments, seen)
        else:
            yield from _spreads(selection, fragments, seen)


def _variables(
    node: Any, fragments: dict[str, FragmentDefinitionNode], used: dict[str, None]
) -> Iterator[str]:
    yield from _variables_in(node)
    for name in used:
        yield from _variables_in(fragments[name])


def _variables_in(node: Any) -> Iterator[str]:
    if isinstance(node, VariableNode):
        yield node.name.value
        return
    for key in node.keys if hasattr(node, "keys") else ():
        value = getattr(node, key, None)
        children = value if isinstance(value, tuple | list) else (value,)
        for child in children:
            if hasattr(child, "kind"):
                yield from _variables_in(child)
