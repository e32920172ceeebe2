"""Imports go one way: api → service → domain, db → domain (STYLE.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rma_graphql"

FORBIDDEN = {
    "domain": (
        "rma_graphql.api",
        "rma_graphql.service",
        "rma_graphql.db",
        "sqlalchemy",
        "sqlmodel",
        "strawberry",
        "starlette",
    ),
    "db": ("rma_graphql.api", "rma_graphql.service", "strawberry", "starlette"),
    "service": ("rma_graphql.api", "strawberry", "starlette"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", list(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    }

    assert offending == set()


def test_only_the_api_imports_strawberry() -> None:
    outside = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name.startswith("strawberry") for name in _imports(path))
        and path.relative_to(PACKAGE).parts[0] not in ("api", "docs.py")
    }

    assert outside == set()
