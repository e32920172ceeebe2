"""The ``Idempotency-Key`` header of a mutation request (service/idempotency.py keeps it)."""

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

import orjson
from graphql import GraphQLField, GraphQLSchema, get_named_type
from starlette.responses import Response

from rma_graphql.api.context import RmaInfo
from rma_graphql.api.rma_order_type import rma_payload
from rma_graphql.domain.errors import DomainError
from rma_graphql.service.idempotency import HEADER, Idempotency, replaying
from rma_graphql.service.unit_of_work import remember_written

# Mutations a key does not apply to: those that log in or out, and those whose answer is a
# secret (kept nowhere, it cannot be answered twice).
NOT_IDEMPOTENT = frozenset(
    {
        "signUp",
        "logIn",
        "logOut",
        "portalOrderLookup",
        "passwordResetRequest",
        "passwordReset",
        "apiClientRotateSecret",
        "webhookEndpointCreate",
        "webhookEndpointRotateSecret",
    }
)


def error_body(error: DomainError) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions()}]}
    )


def refusal(message: str, reason: str) -> Response:
    error = {"message": message, "extensions": {"code": "BAD_USER_INPUT", "field": HEADER, "reason": reason}}
    return Response(orjson.dumps({"data": None, "errors": [error]}), media_type="application/json")


async def respond(
    idempotency: Idempotency,
    key: str,
    operation: tuple[str, frozenset[str]] | None,
    request_data: Any,
    context: Any,
    run: Callable[[], Awaitable[bytes]],
) -> Response | None:
    """The answer to a request with a key: None when the key does not apply (a query: reads
    are safe to repeat), else the first run's answer, or a refusal of the key."""
    if isinstance(request_data, list):
        return refusal(
            f"An {HEADER} stands for one operation: send the mutations of a batch one by one.",
            "IDEMPOTENCY_KEY_BATCH",
        )
    if operation is None or operation[0] != "mutation":
        return None
    refused = sorted(operation[1] & NOT_IDEMPOTENT)
    if refused:
        return refusal(
            f"{', '.join(refused)} takes no {HEADER}: it logs in or out, or answers a secret "
            "that is kept nowhere.",
            "IDEMPOTENCY_KEY_NOT_SUPPORTED",
        )
    caller = context.caller
    if caller is None:
        return None
    principal = f"{caller.actor.get('type')}:{caller.actor.get('id')}"
    try:
        request = idempotency.request(
            caller.organization_id,
            principal,
            key,
            request_data.query,
            request_data.operation_name,
            request_data.variables,
        )
        body, replayed = await idempotency.answer(request, run, run)
    except DomainError as error:
        return Response(error_body(error), media_type="application/json")
    response = Response(body, media_type="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def answer_rebuilt(field: GraphQLField) -> None:
    """A mutation field answers, while an answer is rebuilt, from the versions its change
    wrote instead of running: an RMA order field with the one RMA order written."""
    resolve = field.resolve
    rebuilds = get_named_type(field.type).name == "RmaOrderType"

    async def resolve_or_rebuild(root: Any, info: RmaInfo, **arguments: Any) -> Any:
        versions = replaying()
        if versions is None:
            assert resolve is not None
            result = resolve(root, info, **arguments)
            return await result if isawaitable(result) else result
        if rebuilds and len(versions) == 1:
            remember_written(versions)
            return await rma_payload(info, next(iter(versions)))
        raise AnswerLostError()

    field.resolve = resolve_or_rebuild


class AnswerLostError(DomainError):
    code = "CONFLICT"

    def __init__(self) -> None:
        super().__init__(
            f"The first request with this {HEADER} made its change, and its answer was lost with "
            "the server process that ran it; this mutation's answer cannot be rebuilt: read the "
            "object instead."
        )

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "reason": "IDEMPOTENT_ANSWER_LOST"}


def rebuildable(schema: GraphQLSchema) -> None:
    """Every mutation field of ``schema`` answers rebuilt answers (see ``answer_rebuilt``)."""
    if schema.mutation_type is not None:
        for field in schema.mutation_type.fields.values():
            answer_rebuilt(field)
