"""The processes import only what `pip install .` (and so the image) installs: a module
imported by shared/ or services/ that only the test extras provide works in every test
and fails at start-up in production."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.code import ROOT
from tests.deploy.test_lock import runtime_dependencies

PROCESS_PACKAGES = ("shared", "services")


def _project_packages() -> set[str]:
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {pattern.rstrip("*") for pattern in found["packages"]["find"]["include"]}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.partition(".")[0])
    return roots


def _installed_closure(dependencies: list[str]) -> set[str]:
    """The distributions the runtime dependencies install, their own requirements
    (without extras they are not asked for) followed to the end."""
    pending = [Requirement(dependency) for dependency in dependencies]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in requires(requirement.name) or []:
            nested = Requirement(text)
            if nested.marker is None or nested.marker.evaluate(
                {"extra": next(iter(requirement.extras), "")}
            ):
                pending.append(nested)
    return seen


def third_party_imports() -> dict[str, set[str]]:
    """Module root -> the files of the processes that import it, outside the standard
    library and the project itself."""
    found: dict[str, set[str]] = {}
    local = {*_project_packages(), "__future__"}
    for package in PROCESS_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for root in _imported_roots(path) - local - set(sys.stdlib_module_names):
                found.setdefault(root, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_processes_import_is_installed_by_a_runtime_dependency() -> None:
    installed = _installed_closure(runtime_dependencies())
    distributions = packages_distributions()
    missing = {
        root: sorted(files)
        for root, files in third_party_imports().items()
        if not {canonicalize_name(d) for d in distributions.get(root, [root])} & installed
    }
    assert missing == {}, "add these to [project] dependencies, then `make lock`"


def test_a_module_only_the_test_extras_install_is_reported() -> None:
    installed = _installed_closure(["fastapi"])
    assert "starlette" in installed
    assert "hypothesis" not in installed
