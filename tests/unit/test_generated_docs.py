"""The committed schema and diagrams match the code."""

from pathlib import Path

from rma_graphql.docs import schema_sdl, state_machines_page

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_current() -> None:
    assert (ROOT / "schema.graphql").read_text() == schema_sdl(), "run: make schema"


def test_state_machine_diagrams_are_current() -> None:
    assert (ROOT / "docs" / "state-machines.md").read_text() == state_machines_page(), "run: make schema"


def test_readme_shows_the_diagrams_page() -> None:
    assert "docs/state-machines.md" in (ROOT / "README.md").read_text()
