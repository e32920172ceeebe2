"""Ids clients give: UUIDs, taken in their canonical form (lowercase, hyphenated)."""

import re
import uuid

from rma_graphql.domain.errors import BadUserInputError

# A UUID already in its canonical form (what ``str(UUID(…))`` gives back unchanged).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_uuid(value: str, field: str) -> str:
    """The UUID ``value`` in its canonical form (lowercase, hyphenated), else BAD_USER_INPUT."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise BadUserInputError(f"{value!r} is not a valid UUID.", field) from None
