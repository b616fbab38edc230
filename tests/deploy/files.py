"""The deployment files, parsed: Kubernetes manifests, the compose file, the Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.code import DEPLOY, K8S

Doc = dict[str, Any]

SECRET_TEMPLATE = K8S / "secret.yaml"
"""The Secret the operator fills in and applies before the kustomization (not one of its
resources, so `kubectl apply -k` never replaces the real one)."""
LOCK = DEPLOY / "requirements.lock"
"""The image's dependencies, pinned and hashed (`make lock`)."""


def kustomization() -> Doc:
    loaded: Doc = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return loaded


def manifest_files() -> list[Path]:
    return [K8S / name for name in kustomization()["resources"]]


def k8s_documents() -> list[Doc]:
    return [
        doc
        for path in manifest_files()
        for doc in yaml.safe_load_all(path.read_text())
        if doc is not None
    ]


def of_kind(kind: str) -> list[Doc]:
    return [doc for doc in k8s_documents() if doc["kind"] == kind]


def one(kind: str) -> Doc:
    (doc,) = of_kind(kind)
    return doc


def pod_specs() -> list[tuple[str, Doc]]:
    """(workload name, pod spec) of every Deployment and Job."""
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"])
        for doc in k8s_documents()
        if doc["kind"] in {"Deployment", "Job"}
    ]


def configmap_data() -> dict[str, str]:
    data: dict[str, str] = one("ConfigMap")["data"]
    return data


def secret_template() -> Doc:
    loaded: Doc = yaml.safe_load(SECRET_TEMPLATE.read_text())
    return loaded


def secret_data() -> dict[str, str]:
    secret = secret_template()
    return {**secret.get("data", {}), **secret.get("stringData", {})}


def compose() -> Doc:
    loaded: Doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def command_of(container: Doc) -> str:
    """The `renewals` subcommand a container runs (the image's entrypoint is `renewals`)."""
    args = container.get("args") or container.get("command")
    assert isinstance(args, list), f"{container.get('name')} names no command"
    assert args, f"{container.get('name')} names no command"
    return str(args[0])


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """A JSON-array argument (`["renewals"]`), else the words of the shell form."""
        text = self.arguments.strip()
        if text.startswith("["):
            parsed: list[str] = json.loads(text)
            return parsed
        return shlex.split(text)


def dockerfile(path: Path = DEPLOY / "Dockerfile") -> list[Instruction]:
    """The instructions in order, continuation lines joined; `stage` counts FROMs."""
    joined = re.sub(r"\\\n\s*", " ", path.read_text())
    instructions: list[Instruction] = []
    stage = -1
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword.upper(), arguments))
    return instructions


def dockerfile_env() -> dict[str, str]:
    """The ENV of the final stage."""
    final = max(i.stage for i in dockerfile())
    env: dict[str, str] = {}
    for instruction in dockerfile():
        if instruction.stage == final and instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/[a-z]+)")


def probed_urls(text: str) -> list[tuple[int, str]]:
    """(port, path) of every local URL in a health check command."""
    return [(int(port), path) for port, path in URL.findall(text)]
