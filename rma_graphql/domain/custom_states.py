"""Custom states: labels a merchant adds beside the four statuses ("waiting for the
supplier", "sent to repair"), each settable in the processing statuses it names. They move
no status and open no way around the state machines."""

import re
from collections.abc import Iterable, Mapping

from rma_graphql.domain.actions import Action
from rma_graphql.domain.errors import BadUserInputError, InvalidTransitionError
from rma_graphql.domain.rma_order import RmaOrder
from rma_graphql.domain.rma_parts import RecordedEvent
from rma_graphql.domain.statuses import Dimension, EventType, ProcessingStatus

CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 1000


def check_code(code: str, field: str) -> str:
    if not CODE.match(code):
        raise BadUserInputError(
            f"A custom state's code is 1 to 40 capital letters, digits and underscores, starting with a "
            f"letter; got {code!r}.",
            field,
        )
    return code


def check_texts(texts: Mapping[str, str], field: str, limit: int, *, required: bool) -> dict[str, str]:
    """Texts by language: each 1 to ``limit`` characters; at least one when ``required``."""
    if required and not texts:
        raise BadUserInputError("Give the name in at least one language.", field)
    for language, text in texts.items():
        if not text.strip() or len(text) > limit:
            raise BadUserInputError(f"The {language} text is 1 to {limit} characters.", field)
    return dict(texts)


def set_custom_state(
    rma: RmaOrder, code: str | None, allowed: Iterable[ProcessingStatus]
) -> list[RecordedEvent]:
    """Set (or, with None, clear) an RMA order's custom state: only in the processing
    statuses the state allows (INVALID_TRANSITION otherwise); one CUSTOM_STATE_CHANGED event."""
    if code is not None and rma.processing_status not in set(allowed):
        error = InvalidTransitionError(
            f"The custom state {code} cannot be set while the processing status is {rma.processing_status}.",
            dimension=Dimension.PROCESSING.value,
            from_status=rma.processing_status.value,
            action=Action.SET_CUSTOM_STATE.value,
        )
        error.allowed_actions = [name for name, ok, _ in rma.available_actions() if ok]
        raise error
    return [RecordedEvent(EventType.CUSTOM_STATE_CHANGED, comment=code)]
