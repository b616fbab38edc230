"""The runbook and deploy/README match the code: every metric is explained, and every
command, setting and file they name exists."""

from __future__ import annotations

import re

import pytest
from prometheus_client.metrics import MetricWrapperBase

import shared.metrics
from tests.deploy.code import DEPLOY, ROOT, env_names, subcommands

DOCS = {
    "docs/operations.md": ROOT / "docs" / "operations.md",
    "deploy/README.md": DEPLOY / "README.md",
}


def metric_names() -> set[str]:
    names = set()
    for metric in vars(shared.metrics).values():
        if isinstance(metric, MetricWrapperBase):
            (family,) = metric.describe()
            suffix = "_total" if family.type == "counter" else ""
            names.add(family.name + suffix)
    return names


def test_the_runbook_explains_every_metric() -> None:
    runbook = DOCS["docs/operations.md"].read_text()
    missing = [name for name in metric_names() if f"`{name}" not in runbook]
    assert missing == []


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_commands_settings_and_files_named_exist(doc: str) -> None:
    text = DOCS[doc].read_text()
    commands = set(re.findall(r"(?<!-n )\brenewals ([a-z]+)\b", text))
    assert commands - subcommands() == set()
    assert set(re.findall(r"\bRENEWALS_[A-Z_]+\b", text)) - set(env_names()) == set()
    for path in re.findall(r"\bdeploy/(?:k8s/)?[\w.-]+\.(?:yaml|md)|\bdeploy/Dockerfile", text):
        assert (ROOT / path).exists(), path
    for target in re.findall(r"\bmake ([a-z]+)\b", text):
        assert f"\n{target}:" in (ROOT / "Makefile").read_text(), target
