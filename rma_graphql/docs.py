"""Generated documentation: the committed SDL, the state-machine diagrams page and the
README's configuration table."""

import re

from strawberry.printer import print_schema

from rma_graphql.api.schema import schema
from rma_graphql.config import Settings, environment_name
from rma_graphql.domain.machines import SPECS, mermaid


def schema_sdl() -> str:
    return print_schema(schema) + "\n"


def state_machines_page() -> str:
    parts = [
        "# RMA order state machines\n",
        "Generated from the tables in `rma_graphql/domain/machines.py` by "
        "`make schema`; a test fails when this page is stale. Guards are in brackets.\n",
    ]
    for spec in SPECS:
        parts.append(f"\n## {spec.dimension.value.title()}\n\n```mermaid\n{mermaid(spec)}```\n")
    return "".join(parts)


CONFIGURATION_START = "<!-- configuration: generated from rma_graphql/config.py by make schema -->"
CONFIGURATION_END = "<!-- end of configuration -->"


def _shown(value: object) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def configuration_table() -> str:
    """The README's table of settings: variable, default and meaning, from the model."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{environment_name(name)}` | {_shown(field.default)} | {field.description} |")
    return "\n".join(rows) + "\n"


def readme_with_configuration(readme: str) -> str:
    """``readme`` with the generated table between its configuration markers."""
    pattern = re.compile(re.escape(CONFIGURATION_START) + ".*?" + re.escape(CONFIGURATION_END), re.S)
    block = f"{CONFIGURATION_START}\n{configuration_table()}{CONFIGURATION_END}"
    if not pattern.search(readme):
        raise ValueError("the README has no configuration markers")
    return pattern.sub(lambda _: block, readme)
