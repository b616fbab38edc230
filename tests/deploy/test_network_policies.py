"""deploy/k8s/network-policies.yaml: every pod starts from nothing allowed but DNS, and
each component's policy opens only what that process uses: the database, the broker,
its port, and for the worker the outbound webhooks on 443 to public addresses. Ports are
read from the ConfigMap and the Secret, so moving the broker or the database port
without the policies fails here."""

from __future__ import annotations

import ipaddress
from functools import cache

import pytest
from sqlalchemy.engine import make_url

from shared.domain.webhook_subscriptions.url_guard import is_public
from tests.deploy.files import Doc, configmap_data, k8s_documents, of_kind, secret_data

BASELINE = "renewals-default-deny"
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
"""Where Prometheus runs (the label Kubernetes sets on every namespace)."""
DNS = {("UDP", 53), ("TCP", 53)}
WEBHOOKS = ("TCP", 443)
INTERNAL = (
    "10.96.0.1",
    "10.244.3.17",
    "172.20.0.10",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "127.0.0.1",
    "fd00::1",
    "fe80::1",
    "::1",
)
"""Services, pods, cloud metadata, loopback: what a webhook URL must never reach."""
PUBLIC = ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")

Port = tuple[str, int]


@cache
def pod_labels() -> dict[str, dict[str, str]]:
    """Component -> the labels of its pods, for every Deployment and Job."""
    found = {}
    for doc in k8s_documents():
        if doc["kind"] in {"Deployment", "Job"}:
            labels: dict[str, str] = doc["spec"]["template"]["metadata"]["labels"]
            found[labels["app.kubernetes.io/component"]] = labels
    return found


def selects(policy: Doc, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    assert set(selector) == {"matchLabels"}, policy["metadata"]["name"]
    return bool(selector["matchLabels"].items() <= labels.items())


@cache
def network_policies() -> list[Doc]:
    return of_kind("NetworkPolicy")


def policies_of(component: str) -> list[Doc]:
    labels = pod_labels()[component]
    return [policy for policy in network_policies() if selects(policy, labels)]


def rules(component: str, direction: str) -> list[Doc]:
    """The `ingress` or `egress` rules of every policy that selects the component's pods."""
    found = []
    for policy in policies_of(component):
        assert direction in policy["spec"]["policyTypes"], policy["metadata"]["name"]
        found += policy["spec"].get(direction.lower(), [])
    return found


def ports(rule: Doc) -> set[Port]:
    assert rule.get("ports"), f"a rule without ports opens every port: {rule}"
    return {(port.get("protocol", "TCP"), port["port"]) for port in rule["ports"]}


def allowed(component: str, direction: str) -> set[Port]:
    return {port for rule in rules(component, direction) for port in ports(rule)}


def database() -> Port:
    url = make_url(secret_data()["RENEWALS_DATABASE_URL"])
    return ("TCP", url.port or 5432)


def brokers() -> set[Port]:
    servers = configmap_data()["RENEWALS_KAFKA_BOOTSTRAP_SERVERS"].split(",")
    return {("TCP", int(server.rsplit(":", 1)[1])) for server in servers}


def http_port(setting: str) -> Port:
    return ("TCP", int(configmap_data()[setting]))


def reaches(rule: Doc, address: str) -> bool:
    """Whether the rule's `to` lets traffic through to `address` (ipBlocks only)."""
    ip = ipaddress.ip_address(address)
    for peer in rule["to"]:
        assert set(peer) == {"ipBlock"}, peer
        block = peer["ipBlock"]
        inside = ip in ipaddress.ip_network(block["cidr"])
        if inside and not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
            return True
    return False


def test_every_pod_starts_from_nothing_but_dns() -> None:
    (baseline,) = [p for p in network_policies() if p["metadata"]["name"] == BASELINE]
    assert sorted(baseline["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in baseline["spec"]
    assert {port for rule in baseline["spec"]["egress"] for port in ports(rule)} == DNS
    assert all("to" not in rule for rule in baseline["spec"]["egress"])
    for component, labels in pod_labels().items():
        assert selects(baseline, labels), component


def test_each_component_has_exactly_one_policy_of_its_own() -> None:
    assert set(pod_labels()) == {"api", "relay", "worker", "migrate"}
    named = {BASELINE}
    for component in pod_labels():
        own = [p["metadata"]["name"] for p in policies_of(component)]
        own.remove(BASELINE)
        assert own == [f"renewals-{component}"], component
        named |= set(own)
    assert {p["metadata"]["name"] for p in network_policies()} == named


@pytest.mark.parametrize(
    ("component", "needs"),
    [
        ("api", {"database", "broker"}),
        ("relay", {"database", "broker"}),
        ("worker", {"database", "broker", "webhooks"}),
        ("migrate", {"database"}),
    ],
)
def test_egress_is_what_the_process_uses(component: str, needs: set[str]) -> None:
    by_need = {"database": {database()}, "broker": brokers(), "webhooks": {WEBHOOKS}}
    expected = DNS.union(*(by_need[need] for need in needs))
    assert allowed(component, "Egress") == expected


def test_webhooks_reach_public_addresses_only() -> None:
    (rule,) = [r for r in rules("worker", "Egress") if WEBHOOKS in ports(r)]
    assert ports(rule) == {WEBHOOKS}
    for address in INTERNAL:
        assert not is_public(ipaddress.ip_address(address)), address
        assert not reaches(rule, address), address
    for address in PUBLIC:
        assert is_public(ipaddress.ip_address(address)), address
        assert reaches(rule, address), address


def test_the_api_takes_requests_from_anywhere_on_its_port() -> None:
    (rule,) = rules("api", "Ingress")
    assert "from" not in rule
    assert ports(rule) == {http_port("RENEWALS_API_PORT")}
    assert configmap_data()["RENEWALS_API_METRICS_PORT"] == "0", (
        "an API ops port needs an ingress rule from the monitoring namespace"
    )


@pytest.mark.parametrize(
    ("component", "setting"),
    [("relay", "RENEWALS_RELAY_METRICS_PORT"), ("worker", "RENEWALS_WORKER_METRICS_PORT")],
)
def test_only_monitoring_reaches_the_metrics_port(component: str, setting: str) -> None:
    (rule,) = rules(component, "Ingress")
    assert rule["from"] == [MONITORING]
    assert ports(rule) == {http_port(setting)}


def test_nothing_connects_to_the_migration() -> None:
    assert rules("migrate", "Ingress") == []
