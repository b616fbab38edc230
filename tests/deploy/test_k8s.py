"""The Kubernetes manifests name only what the code has: the image, `renewals`
subcommands, ports and probe paths each process serves, and settings' environment
variables; and every setting is configured (a renamed setting fails here)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from shared.config import Settings
from tests.deploy.code import (
    IMAGE,
    K8S,
    env_names,
    is_secret,
    serves,
    subcommands,
)
from tests.deploy.files import (
    SECRET_TEMPLATE,
    Doc,
    command_of,
    configmap_data,
    k8s_documents,
    kustomization,
    of_kind,
    one,
    pod_specs,
    secret_data,
    secret_template,
)

LONG_RUNNING = {"api", "worker", "relay"}
PORT_SETTING = {
    "api": "RENEWALS_API_PORT",
    "worker": "RENEWALS_WORKER_METRICS_PORT",
    "relay": "RENEWALS_RELAY_METRICS_PORT",
}
API_SHUTDOWN_SECONDS = 20
"""How long `renewals api` lets requests in flight finish (`timeout_graceful_shutdown`)."""


def containers() -> list[tuple[str, Doc]]:
    return [(name, c) for name, spec in pod_specs() for c in spec["containers"]]


def env_references(container: Doc) -> list[tuple[str, str, Doc]]:
    """(variable, "configMapKeyRef" | "secretKeyRef" | "value", reference) of `env`."""
    found = []
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        kind = next(iter(source), "value")
        found.append((entry["name"], kind, source.get(kind, {})))
    return found


def http_probes(container: Doc) -> dict[str, Doc]:
    return {
        probe: container[probe]["httpGet"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
        if probe in container
    }


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = set(kustomization()["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {SECRET_TEMPLATE.name}
    assert of_kind("Secret") == []
    assert [image["name"] for image in kustomization()["images"]] == [IMAGE]


def test_the_secret_template_is_applied_alone_into_the_namespace() -> None:
    secret = secret_template()
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["namespace"] == kustomization()["namespace"]
    assert one("Namespace")["metadata"]["name"] == kustomization()["namespace"]


def test_the_secret_template_holds_no_usable_encryption_key() -> None:
    """Applied unchanged, the template must not encrypt real data with a key everyone
    can read here: its value is a placeholder, not a Fernet key."""
    with pytest.raises(ValueError, match="Fernet key"):
        Fernet(secret_data()["RENEWALS_SECRET_KEY"])


def test_every_container_runs_the_image_with_a_renewals_subcommand() -> None:
    known = subcommands()
    ran = set()
    for workload, container in containers():
        assert container["image"].split(":")[0] == IMAGE, workload
        assert "command" not in container, f"{workload}: the image's entrypoint is renewals"
        assert command_of(container) in known, workload
        ran.add(command_of(container))
    assert ran == {"api", "worker", "relay", "migrate"}


def test_ports_and_probes_are_what_each_process_serves() -> None:
    config = configmap_data()
    for workload, container in containers():
        command = command_of(container)
        if command not in LONG_RUNNING:
            assert "ports" not in container, workload
            assert not http_probes(container), workload
            continue
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert set(ports.values()) == {int(config[PORT_SETTING[command]])}, workload
        probes = http_probes(container)
        assert probes["livenessProbe"]["path"] == "/livez", workload
        assert probes["readinessProbe"]["path"] == "/readyz", workload
        for probe in probes.values():
            assert serves(command, probe["path"]), workload
            assert probe["port"] in ports, workload


def test_prometheus_scrapes_each_process_on_its_port() -> None:
    config = configmap_data()
    for doc in of_kind("Deployment"):
        template = doc["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        (container,) = template["spec"]["containers"]
        command = command_of(container)
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == config[PORT_SETTING[command]]
        assert serves(command, annotations["prometheus.io/path"])


def test_every_variable_named_is_a_setting() -> None:
    names = env_names()
    named = set(configmap_data()) | set(secret_data())
    for _, container in containers():
        named |= {variable for variable, _, _ in env_references(container)}
        named |= {ref["key"] for _, kind, ref in env_references(container) if "key" in ref}
    assert named - set(names) == set()


def test_every_setting_is_configured_and_secrets_come_from_the_secret() -> None:
    config, secret = configmap_data(), secret_data()
    referenced: dict[str, set[str]] = {}
    for _, container in containers():
        for variable, kind, _ in env_references(container):
            referenced.setdefault(variable, set()).add(kind)
    for variable in env_names():
        if is_secret(variable):
            assert variable not in config, f"{variable} is a secret, not a ConfigMap key"
            assert referenced.get(variable) == {"secretKeyRef"}, (
                f"{variable}: a secret; reference it with secretKeyRef from the Deployments "
                "that read it, and list it in deploy/k8s/secret.yaml"
            )
        else:
            assert variable in config or referenced.get(variable) == {"configMapKeyRef"}, (
                f"{variable}: add it to deploy/k8s/configmap.yaml (or, when it has no "
                "default, an optional configMapKeyRef in the Deployments that read it)"
            )
    assert set(secret) <= {v for v in env_names() if is_secret(v)}


def test_every_reference_names_the_configmap_or_the_secret() -> None:
    config_name = one("ConfigMap")["metadata"]["name"]
    secret_name = secret_template()["metadata"]["name"]
    for workload, container in containers():
        assert container["envFrom"] == [{"configMapRef": {"name": config_name}}], workload
        for variable, kind, ref in env_references(container):
            assert kind in {"configMapKeyRef", "secretKeyRef"}, variable
            expected = config_name if kind == "configMapKeyRef" else secret_name
            assert (ref["name"], ref["key"]) == (expected, variable)
            if not ref.get("optional", False):
                assert variable in (secret_data() if kind == "secretKeyRef" else configmap_data())


def test_the_configured_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    filled_in = {"RENEWALS_SECRET_KEY": Fernet.generate_key().decode()}
    for variable, value in (configmap_data() | secret_data() | filled_in).items():
        monkeypatch.setenv(variable, value)
    settings = Settings()
    assert settings.event_bus == "kafka"
    assert not settings.is_sqlite


def test_service_hpa_and_budgets_target_the_deployments() -> None:
    pods = {
        doc["metadata"]["name"]: doc["spec"]["template"]["metadata"]["labels"]
        for doc in of_kind("Deployment")
    }

    def matches(selector: dict[str, str]) -> list[str]:
        return [name for name, labels in pods.items() if selector.items() <= labels.items()]

    service = one("Service")
    assert matches(service["spec"]["selector"]) == ["renewals-api"]
    api = next(c for _, c in containers() if command_of(c) == "api")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {p["name"] for p in api["ports"]}
    assert one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == "renewals-api"
    budgets = [
        matches(pdb["spec"]["selector"]["matchLabels"]) for pdb in of_kind("PodDisruptionBudget")
    ]
    assert sorted(name for names in budgets for name in names) == sorted(pods)
    assert all(len(names) == 1 for names in budgets)


def test_every_container_has_resources_and_runs_as_non_root() -> None:
    for workload, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, workload
        for container in spec["containers"]:
            resources: dict[str, Any] = container["resources"]
            assert set(resources) == {"requests", "limits"}, workload
            assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])


def test_shutdown_fits_in_the_grace_period() -> None:
    config = configmap_data()
    specs = {
        command_of(spec["containers"][0]): spec
        for _, spec in pod_specs()
        if command_of(spec["containers"][0]) in LONG_RUNNING
    }
    api = specs["api"]
    pause = api["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert api["terminationGracePeriodSeconds"] > int(pause[1]) + API_SHUTDOWN_SECONDS
    relay_grace = float(config["RENEWALS_RELAY_SHUTDOWN_GRACE_SECONDS"])
    assert specs["relay"]["terminationGracePeriodSeconds"] > relay_grace
    assert specs["worker"]["terminationGracePeriodSeconds"] >= 30


def test_every_document_has_a_kind_and_a_name() -> None:
    for doc in k8s_documents():
        assert doc["apiVersion"]
        assert doc["kind"]
        assert doc["metadata"]["name"]
