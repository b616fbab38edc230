"""The demo is a service like the others: it imports `shared/` and its own package,
never another service. What it needs of one (the tick) the command line hands in."""

from __future__ import annotations

import ast
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "services" / "demo"


def test_the_demo_imports_no_other_service() -> None:
    imported: set[str] = set()
    for path in DEMO.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    services = {name for name in imported if name.split(".")[0] == "services"}
    assert {name for name in services if name.split(".")[:2] != ["services", "demo"]} == set()
    assert any(name.startswith("shared.") for name in imported)
