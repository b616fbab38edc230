"""The pure engine and the pure rules import the standard library only, besides
themselves: import-linter's contracts name what is forbidden, this checks what is allowed,
so a new dependency cannot slip into either without a failing test."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = {
    "services/renewal_worker/engine": ("services.renewal_worker.engine", "shared.rules"),
    "shared/rules": ("shared.rules",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _allowed(module: str, own: tuple[str, ...]) -> bool:
    top = module.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or top == "__future__"
        or any(module == p or module.startswith(p + ".") for p in own)
    )


@pytest.mark.parametrize("folder", sorted(PURE))
def test_pure_packages_import_only_the_standard_library_and_themselves(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"nothing found under {folder}"
    outside = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in imported_modules(path)
        if not _allowed(module, PURE[folder])
    }
    assert outside == set()
