"""Only `renewals api` and `renewals dev` load the web framework: every other command
imports what it runs inside its own function, so it starts without FastAPI and
Starlette. Each check runs in a fresh interpreter, which prints the web modules it
ended up with."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import cli_env

CLI = Path(__file__).resolve().parents[2] / "services" / "cli"

REPORT_WEB_MODULES = """
import atexit, json, sys

@atexit.register
def _report() -> None:
    web = {"fastapi", "starlette"}
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in web)))

"""
"""Printed at exit, also when the command ends with SystemExit (as typer's commands do)."""

WITHOUT_WEB_FRAMEWORK = [
    "apikey",
    "demo",
    "dlq",
    "forecast",
    "migrate",
    "relay",
    "report",
    "tick",
    "worker",
]


def web_modules_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", REPORT_WEB_MODULES + code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def imports_of(module: str) -> list[str]:
    """The import statements a command module runs, those inside its functions included
    (not those for the type checker), and those of the `services.cli` modules it
    imports, as source lines."""
    lines: list[str] = []

    class Imports(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if ast.unparse(node.test) != "TYPE_CHECKING":
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            lines.append(ast.unparse(node))

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.module == "__future__":
                return
            lines.append(ast.unparse(node))
            if node.module and node.module.startswith("services.cli."):
                lines.extend(imports_of(node.module.removeprefix("services.cli.")))

    Imports().visit(ast.parse((CLI / f"{module}.py").read_text()))
    return lines


def test_the_command_line_and_its_help_load_no_web_framework() -> None:
    assert web_modules_after("import services.cli") == []
    help_ = "from services.cli import app\napp(['--help'], prog_name='renewals')"
    assert web_modules_after(help_) == []


@pytest.mark.parametrize("command", WITHOUT_WEB_FRAMEWORK)
def test_what_a_command_imports_loads_no_web_framework(command: str) -> None:
    code = "\n".join(["import services.cli", *imports_of(command)])
    assert "from shared.config import Settings" in code  # imports inside functions too
    assert web_modules_after(code) == []


def test_what_the_serving_commands_import_does_load_it() -> None:
    """`api` and `dev` (services/cli/serve.py): the check above would see it."""
    code = "\n".join(["import services.cli", *imports_of("serve")])
    assert {"fastapi", "starlette"} <= set(web_modules_after(code))


def test_a_tick_run_loads_no_web_framework(sqlite_db_url: str) -> None:
    tick = "app(['tick', '--as-of', '2026-12-01'], prog_name='renewals')"
    code = f"from services.cli import app\n{tick}"
    assert web_modules_after(code, env=cli_env(sqlite_db_url)) == []
