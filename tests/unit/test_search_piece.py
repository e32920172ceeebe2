"""What of a search an index is asked for: a run of digits before letters, the longest
first, 3 characters at least (the whole search when no run is that long); its 5-grams when
it has 5 ASCII letters or digits at least, else its trigrams, after its organization's
prefix."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rma_graphql.db.list_criteria import organization_prefix, search_keys, search_piece


@pytest.mark.parametrize(
    ("search", "piece"),
    [
        ("rma-334333", "334333"),
        ("customer200000@example.com", "200000"),
        ("customer 142857", "142857"),
        ("2024-000123", "000123"),
        ("jean.dupont@gmail.com", "dupont"),
        ("müller", "müller"),
        ("sku-12", "sku"),
        ("ab", "ab"),
        ("a_%", "a_%"),
    ],
)
def test_the_piece_of_a_search(search: str, piece: str) -> None:
    assert search_piece(search) == piece


@given(st.text(max_size=40))
def test_the_piece_is_part_of_the_search(search: str) -> None:
    """A row holding the search holds its piece: the rows the index finds include every row
    the search matches."""
    assert search_piece(search) in search


@pytest.mark.parametrize(
    ("piece", "grams"),
    [
        ("334333", ["33433", "34333"]),
        ("200000", ["00000", "20000"]),
        ("dupont", ["dupon", "upont"]),
        ("12345", ["12345"]),
        ("4333", ["333", "433"]),
        ("sku", ["sku"]),
        ("müller", None),
        ("rma-334333", None),
        ("ab", None),
    ],
)
def test_the_keys_of_a_piece(piece: str, grams: list[str] | None) -> None:
    organization = "6f0b5c1e-0000-4000-8000-000000000001"
    prefix = organization_prefix(organization)
    expected = None if grams is None else [prefix + gram for gram in grams]
    assert search_keys(organization, piece) == expected


def test_the_prefix_is_the_start_of_the_md5_of_the_organization_id() -> None:
    """As rma_search_keys computes it in SQL (migration 0030): left(md5(id), 8)."""
    assert organization_prefix("6f0b5c1e-0000-4000-8000-000000000001") == "147a6435"
