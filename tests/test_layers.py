"""The direction of imports (DESIGN §2): pure rules, a pure engine, a framework-free shared."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STANDARD_LIBRARY = sys.stdlib_module_names | {"__future__"}


def _imports(package: str) -> Iterator[tuple[str, str]]:
    """(file, imported module) for every absolute import under a package directory."""
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            yield from ((str(path.relative_to(ROOT)), name) for name in names)


def _outside(package: str, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (path, name)
        for path, name in _imports(package)
        if name.split(".")[0] not in STANDARD_LIBRARY
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    ]


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        pytest.param("shared/rules", ("shared.rules",), id="rules"),
        pytest.param(
            "services/renewal_worker/engine",
            ("shared.rules", "services.renewal_worker.engine"),
            id="engine",
        ),
    ],
)
def test_pure_code_imports_only_the_standard_library_and_the_rules(
    package: str, allowed: tuple[str, ...]
) -> None:
    assert _outside(package, allowed) == []


def test_shared_imports_no_service_and_no_web_framework() -> None:
    forbidden = {"services", "fastapi", "starlette"}
    assert [(p, n) for p, n in _imports("shared") if n.split(".")[0] in forbidden] == []
