"""Generated documentation: the committed SDL and the state-machine diagrams page."""

from strawberry.printer import print_schema

from rma_graphql.api.schema import schema
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
