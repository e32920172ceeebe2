"""Custom states: an organization's own labels beside the four statuses, and setting one on
an RMA order (recorded in its history like any change)."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rma_graphql.db import custom_state_repository as store
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain import custom_states as rules
from rma_graphql.domain.access import Caller
from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.domain.statuses import ProcessingStatus
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.records import RmaCustomStateRecord, record, records
from rma_graphql.service.unit_of_work import UnitOfWork


def _texts(texts: Mapping[str, str], field: str, limit: int, *, required: bool) -> dict[str, str]:
    by_language = {check_language(language, field): text for language, text in texts.items()}
    return rules.check_texts(by_language, field, limit, required=required)


def _statuses(statuses: Sequence[ProcessingStatus]) -> list[str]:
    if not statuses:
        raise BadUserInputError(
            "Name at least one processing status the state may be set in.", "processingStatuses"
        )
    return [status.value for status in dict.fromkeys(statuses)]


def _not_found(code: str) -> NotFoundError:
    return NotFoundError(f"No custom state {code}.", code)


async def create_state(
    uow: UnitOfWork,
    caller: Caller,
    *,
    code: str,
    names: Mapping[str, str],
    descriptions: Mapping[str, str],
    position: int,
    processing_statuses: Sequence[ProcessingStatus],
) -> RmaCustomStateRecord:
    now = datetime.now(UTC)
    values = {
        "id": str(uuid.uuid4()),
        "organization_id": caller.organization_id,
        "code": rules.check_code(code, "input.code"),
        "names": _texts(names, "input.names", rules.MAX_NAME_LENGTH, required=True),
        "descriptions": _texts(
            descriptions, "input.descriptions", rules.MAX_DESCRIPTION_LENGTH, required=False
        ),
        "position": position,
        "processing_statuses": _statuses(processing_statuses),
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with uow.transaction() as conn:
            await store.add(conn, values)
            found = await store.by_code(conn, caller.organization_id, code)
    except DuplicateRowError:
        raise BadUserInputError(f"There is a custom state {code} already.", "input.code") from None
    assert found is not None
    return record(RmaCustomStateRecord, found)


async def update_state(
    uow: UnitOfWork, caller: Caller, code: str, values: Mapping[str, Any]
) -> RmaCustomStateRecord:
    """Change what is given (names and descriptions are replaced whole)."""
    changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
    if values.get("names") is not None:
        changes["names"] = _texts(values["names"], "input.names", rules.MAX_NAME_LENGTH, required=True)
    if values.get("descriptions") is not None:
        changes["descriptions"] = _texts(
            values["descriptions"], "input.descriptions", rules.MAX_DESCRIPTION_LENGTH, required=False
        )
    if values.get("position") is not None:
        changes["position"] = values["position"]
    if values.get("processing_statuses") is not None:
        changes["processing_statuses"] = _statuses(values["processing_statuses"])
    async with uow.transaction() as conn:
        if not await store.change(conn, caller.organization_id, code, changes):
            raise _not_found(code)
        found = await store.by_code(conn, caller.organization_id, code)
    assert found is not None
    return record(RmaCustomStateRecord, found)


async def delete_state(uow: UnitOfWork, caller: Caller, code: str) -> None:
    """Gone, unless an RMA order is in it (clear theirs first)."""
    async with uow.transaction() as conn:
        if await store.in_use(conn, caller.organization_id, code):
            raise BadUserInputError(
                f"RMA orders are in the custom state {code}: clear theirs first.", "code", reason="IN_USE"
            )
        if not await store.remove(conn, caller.organization_id, code):
            raise _not_found(code)


async def states(uow: UnitOfWork, organization_id: str) -> list[RmaCustomStateRecord]:
    async with uow.read() as conn:
        return records(RmaCustomStateRecord, await store.all_of(conn, organization_id))


async def set_custom_state(
    uow: UnitOfWork, caller: Caller, rma_id: str, code: str | None, *, expected_version: int | None = None
) -> str:
    """Put an RMA order in a custom state (None: in none): one CUSTOM_STATE_CHANGED event and
    a new version; refused (INVALID_TRANSITION) in a processing status the state does not name."""
    async with uow.change(caller) as change:
        rma = await change.load(rma_id, Action.SET_CUSTOM_STATE, expected_version=expected_version)
        allowed: list[ProcessingStatus] = []
        if code is not None:
            state = await store.by_code(change.conn, caller.organization_id, code)
            if state is None:
                raise _not_found(code)
            allowed = [ProcessingStatus(status) for status in state["processing_statuses"]]
        events = rules.set_custom_state(rma, code, allowed)
        await change.rma_orders.save(rma, events, columns={"custom_state": code}, last=True)
    return rma_id
