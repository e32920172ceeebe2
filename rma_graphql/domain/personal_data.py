"""Erasing personal data: what a person's data is, and how a value is scrubbed of it.

Contacts lose their names, addresses, emails and phones to a marker (their country and
language stay); free text is replaced whole; every copy of those values elsewhere (an event's
data, a revision, a webhook body, a mail, a stored answer) is replaced wherever it appears.
Amounts, SKUs and statuses are never touched.
"""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rma_graphql.domain.rma_parts import RecordedEvent
from rma_graphql.domain.statuses import EventType

MARKER = "[erased]"
# A contact's fields that name or reach a person (camelCase in the API, snake_case in rows).
CONTACT_FIELDS = frozenset(
    {
        "fullname",
        "firstname",
        "lastname",
        "company",
        "email",
        "phone",
        "address",
        "addressComplement",
        "address_complement",
        "city",
        "zipcode",
    }
)
# Shorter values are not looked for elsewhere (a two-letter value would match inside SKUs and
# codes); the fields that hold them are replaced whole.
MIN_SCRUBBED_LENGTH = 3


def anonymized(by: Mapping[str, Any]) -> list[RecordedEvent]:
    """An RMA order's people erased: one ANONYMIZED event naming who erased them."""
    return [RecordedEvent(EventType.ANONYMIZED, data={"by": {k: by.get(k) for k in ("type", "id", "name")}})]


def erased_contact(contact: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The contact with its personal fields replaced by the marker (the others kept)."""
    if contact is None:
        return None
    return {
        key: MARKER if key in CONTACT_FIELDS and value not in (None, "") else value
        for key, value in contact.items()
    }


def strings_of(value: Any) -> Iterable[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_of(item)


def contact_values(contact: Mapping[str, Any] | None) -> set[str]:
    """The personal values of a contact."""
    if not contact:
        return set()
    return {str(v) for k, v in contact.items() if k in CONTACT_FIELDS and isinstance(v, str) and v}


class Scrubber:
    """Replaces every occurrence of a person's values (whatever their case) by the marker,
    in text, in JSON values (and a contact's personal fields whole) and in JSON bytes."""

    def __init__(self, values: Iterable[str]) -> None:
        found = {value.strip() for value in values if value and len(value.strip()) >= MIN_SCRUBBED_LENGTH}
        found.discard(MARKER)
        # In JSON text a value may stand escaped (quotes, new lines, backslashes).
        escaped = {json.dumps(value, ensure_ascii=False)[1:-1] for value in found}
        self.values = found
        self._text = self._pattern(found)
        self._json_text = self._pattern(found | escaped)

    @staticmethod
    def _pattern(values: set[str]) -> re.Pattern[str] | None:
        if not values:
            return None
        alternatives = sorted(values, key=len, reverse=True)
        return re.compile("|".join(re.escape(value) for value in alternatives), re.IGNORECASE)

    def text(self, value: str) -> str:
        return value if self._text is None else self._text.sub(MARKER, value)

    def json(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, str):
            return MARKER if key in CONTACT_FIELDS and value else self.text(value)
        if isinstance(value, Mapping):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def raw(self, value: bytes) -> bytes:
        """JSON kept as bytes (a stored answer)."""
        if self._json_text is None:
            return value
        return self._json_text.sub(MARKER, value.decode()).encode()

    def any(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return self.raw(bytes(value))
        if isinstance(value, str):
            return self.text(value)
        return self.json(value)
