"""What compiled reads and compiled actions share: a request's document parsed and validated
once, with the schema's own rules and limits, its operation chosen as strawberry chooses it,
and what each made of it kept per document text and operation name."""

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from graphql.validation import ASTValidationRule

from rma_graphql.api.limits import document_errors
from rma_graphql.api.schema import MAX_FIELDS, MAX_TOKENS

Found = TypeVar("Found")

_MAX_DOCUMENTS = 1024


class Documents(Generic[Found]):
    """What ``analyse`` made of each document (None: nothing), the last 1,024 used kept."""

    def __init__(self, analyse: Callable[[str, str | None], Found | None]) -> None:
        self._analyse = analyse
        self._found: OrderedDict[tuple[str, str | None], Found | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> Found | None:
        key = (query, operation_name)
        if key in self._found:
            self._found.move_to_end(key)
            return self._found[key]
        found = self._found[key] = self._analyse(query, operation_name)
        if len(self._found) > _MAX_DOCUMENTS:
            self._found.popitem(last=False)
        return found


def valid_operation(
    schema: GraphQLSchema,
    rules: tuple[type[ASTValidationRule], ...],
    query: str,
    operation_name: str | None,
    kind: OperationType,
) -> tuple[DocumentNode, OperationDefinitionNode] | None:
    """The document and the operation strawberry would run, when the document parses, passes
    the schema's validation and limits, and that operation is of ``kind``; else None."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    if document_errors(schema, document, rules, MAX_FIELDS):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        chosen = operations if len(operations) == 1 else []
    else:
        chosen = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(chosen) != 1 or chosen[0].operation != kind:
        return None
    return document, chosen[0]
