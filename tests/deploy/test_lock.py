"""deploy/requirements.lock: the image installs exactly these versions, each checked
against its hashes. A dependency added to or re-ranged in pyproject.toml without
`make lock` fails here, before an image is built with versions nobody resolved."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.code import ROOT
from tests.deploy.files import LOCK, dockerfile

HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def locked() -> dict[str, tuple[Version, list[str]]]:
    """Canonical name -> (the pinned version, its hash options), continuation lines joined."""
    found: dict[str, tuple[Version, list[str]]] = {}
    for line in re.sub(r"\\\n\s*", " ", LOCK.read_text()).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pin, *options = line.split()
        name, _, version = pin.partition("==")
        assert version, f"not pinned with ==: {pin}"
        key = canonicalize_name(name)
        assert key not in found, f"{name} is locked twice"
        found[key] = (Version(version), options)
    return found


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies: list[str] = project["dependencies"]
    return dependencies


def out_of_lock(dependencies: list[str], lock: dict[str, tuple[Version, list[str]]]) -> list[str]:
    """The dependencies the lock has no pin for, or pins outside their range."""
    stale = []
    for dependency in dependencies:
        requirement = Requirement(dependency)
        pin = lock.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin[0], prereleases=True):
            stale.append(dependency)
    return stale


def test_every_runtime_dependency_is_locked_inside_its_range() -> None:
    assert out_of_lock(runtime_dependencies(), locked()) == [], "run `make lock`"


def test_a_dependency_the_lock_does_not_satisfy_is_reported() -> None:
    lock = locked()
    assert out_of_lock(["fastapi>=999", "not-a-locked-package>=1"], lock) == [
        "fastapi>=999",
        "not-a-locked-package>=1",
    ]
    assert out_of_lock(["FastAPI"], lock) == []


def test_every_pin_carries_hashes_and_the_lock_comes_from_make_lock() -> None:
    for name, (_, options) in locked().items():
        assert options, f"{name} has no hash"
        assert all(HASH.fullmatch(option) for option in options), name
    assert "#    make lock\n" in LOCK.read_text()


def test_the_lock_is_resolved_for_the_image_python() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (locked_for,) = re.findall(r"--python-version (\d+\.\d+)", makefile)
    bases = {i.arguments.split()[0] for i in dockerfile() if i.keyword == "FROM"}
    assert bases == {f"python:{locked_for}-slim-bookworm"}
    assert f"--output-file {LOCK.relative_to(ROOT)}" in makefile


def test_the_image_installs_the_lock_with_hashes_then_the_package_alone() -> None:
    runs = [
        i.arguments for i in dockerfile() if i.keyword == "RUN" and "pip install" in i.arguments
    ]
    assert runs[0].endswith(f"pip install --no-cache-dir --require-hashes -r {LOCK.name}")
    assert "--no-deps ." in runs[1]
    assert "pip check" in runs[1]
    assert len(runs) == 2
    copies = [i.arguments.split() for i in dockerfile() if i.keyword == "COPY"]
    assert copies[0] == [str(LOCK.relative_to(ROOT)), "./"]
