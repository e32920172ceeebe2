"""Imports go one way: api → service → domain, db → domain (STYLE.md), as import-linter's
contracts in pyproject.toml say; and a copy of the package that breaks them fails them."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rma_graphql"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on the package under ``root``, with the project's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("domain/statuses.py", "from rma_graphql import db"),
        ("domain/statuses.py", "from ..db import tables"),
        ("domain/statuses.py", "import rma_graphql.db.repository"),
        ("domain/statuses.py", "import sqlalchemy"),
        ("api/enums.py", "from rma_graphql.db import tables"),
        ("service/hub.py", "import strawberry"),
        ("service/catalog.py", "from sqlalchemy import select"),
    ],
)
def test_a_forbidden_import_by_any_spelling_breaks_a_contract(tmp_path: Path, module: str, line: str) -> None:
    shutil.copytree(PACKAGE, tmp_path / "rma_graphql", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "rma_graphql" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")

    result = _lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout


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


def _sources() -> list[Path]:
    return [path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts]


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n for path in _sources() if (n := path.read_text().count("\n")) > 500
    }

    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long = {
        f"{path.relative_to(PACKAGE)}:{node.name}": node.end_lineno - node.lineno + 1
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 60
    }

    assert long == {}


def test_no_sql_is_written_outside_the_database_layer() -> None:
    writing = {
        str(path.relative_to(PACKAGE))
        for layer in ("api", "service", "domain")
        for path in (PACKAGE / layer).rglob("*.py")
        if any(name.startswith(("sqlalchemy", "sqlmodel")) for name in _imports(path))
    }

    assert writing == set()
