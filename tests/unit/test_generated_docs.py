"""The committed schema and diagrams match the code."""

from pathlib import Path

from rma_graphql.config import Settings
from rma_graphql.docs import readme_with_configuration, schema_sdl, state_machines_page

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_current() -> None:
    assert (ROOT / "schema.graphql").read_text() == schema_sdl(), "run: make schema"


def test_state_machine_diagrams_are_current() -> None:
    assert (ROOT / "docs" / "state-machines.md").read_text() == state_machines_page(), "run: make schema"


def test_readme_shows_the_diagrams_page() -> None:
    assert "docs/state-machines.md" in (ROOT / "README.md").read_text()


def test_the_readme_configuration_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()

    assert readme_with_configuration(readme) == readme, "run: make schema"
    for name in Settings.model_fields:
        expected = "DATABASE_URL" if name == "database_url" else f"RMA_{name.upper()}"
        assert f"| `{expected}` |" in readme
