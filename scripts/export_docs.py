"""Writes schema.graphql, docs/state-machines.md and the README's configuration table from
the code (run by `make schema`)."""

from pathlib import Path

from rma_graphql.docs import readme_with_configuration, schema_sdl, state_machines_page

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    (ROOT / "schema.graphql").write_text(schema_sdl())
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "state-machines.md").write_text(state_machines_page())
    readme = ROOT / "README.md"
    readme.write_text(readme_with_configuration(readme.read_text()))
    print("wrote schema.graphql, docs/state-machines.md and the README's configuration table")
