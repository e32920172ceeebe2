"""Writes schema.graphql and docs/state-machines.md from the code (run by `make schema`)."""

from pathlib import Path

from rma_graphql.docs import schema_sdl, state_machines_page

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    (ROOT / "schema.graphql").write_text(schema_sdl())
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "state-machines.md").write_text(state_machines_page())
    print("wrote schema.graphql and docs/state-machines.md")
