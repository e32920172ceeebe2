"""An id argument is taken in the canonical form of its UUID, whatever form it came in; a
canonical one is taken as it is (no UUID object made), anything else is refused."""

import uuid

import pytest

from rma_graphql.api.ids import parse_uuid
from rma_graphql.domain.errors import BadUserInputError

VALUE = uuid.UUID("3f2c9a10-4b5d-4e6f-8a7b-9c0d1e2f3a4b")


@pytest.mark.parametrize(
    "given",
    [
        str(VALUE),
        str(VALUE).upper(),
        VALUE.hex,
        "{" + str(VALUE) + "}",
        "urn:uuid:" + str(VALUE),
        "00000000-0000-4000-8000-00000000000a",
    ],
)
def test_every_form_of_a_uuid_is_taken_in_its_canonical_form(given: str) -> None:
    assert parse_uuid(given, "id") == str(uuid.UUID(given))


@pytest.mark.parametrize("given", ["", "not-a-uuid", str(VALUE) + "0", str(VALUE)[:-1], " " + str(VALUE)])
def test_anything_else_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        parse_uuid(given, "input.id")
    assert refused.value.field == "input.id"
