"""TLS and SASL towards Kafka (`shared.runtime.kafka.client_kwargs`): the arguments each
protocol gives every client, the settings that contradict each other, the readiness
check over TLS, and that no client in the code is built without the one builder."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import ipaddress
import ssl
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from shared.config import Settings
from shared.runtime.kafka import client_kwargs, ssl_context
from shared.runtime.probes import broker_reachable

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


@dataclass
class Pki:
    ca_file: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA and a certificate it signs for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("renewals test CA"))
        .issuer_name(_name("renewals test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("broker"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "broker.pem", folder / "broker.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def test_plaintext_clients_get_no_tls_and_no_credentials() -> None:
    kwargs = client_kwargs(Settings(kafka_bootstrap_servers="k1:9092,k2:9092"), "renewals-relay")
    assert kwargs == {
        "bootstrap_servers": "k1:9092,k2:9092",
        "client_id": "renewals-relay",
        "security_protocol": "PLAINTEXT",
    }


def test_ssl_clients_verify_the_broker_against_the_given_ca(pki: Pki) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(pki.ca_file))
    kwargs = client_kwargs(settings, "renewals-worker")
    context = kwargs.pop("ssl_context")
    assert kwargs == {
        "bootstrap_servers": "127.0.0.1:9092",
        "client_id": "renewals-worker",
        "security_protocol": "SSL",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    issuers = [dict(item[0] for item in cert["subject"]) for cert in context.get_ca_certs()]
    assert issuers == [{"commonName": "renewals test CA"}]


def test_sasl_ssl_clients_authenticate_with_the_mechanism_and_credentials(pki: Pki) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="renewals-relay",
        kafka_sasl_password="s3cret",
        kafka_ssl_cafile=str(pki.ca_file),
    )
    kwargs = client_kwargs(settings, "renewals-relay")
    assert isinstance(kwargs.pop("ssl_context"), ssl.SSLContext)
    assert kwargs == {
        "bootstrap_servers": "127.0.0.1:9092",
        "client_id": "renewals-relay",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "renewals-relay",
        "sasl_plain_password": "s3cret",
    }


def test_tls_without_a_ca_file_trusts_the_system_store() -> None:
    context = ssl_context(Settings(kafka_security_protocol="SSL"))
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs RENEWALS_KAFKA_SASL_USERNAME"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": "pw-never-shown"},
            "needs RENEWALS_KAFKA_SASL_USERNAME",
        ),
        ({"KAFKA_SASL_USERNAME": "relay"}, "only used with SASL_SSL, not PLAINTEXT"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SASL_PASSWORD": "pw-never-shown"},
            "only used with SASL_SSL, not SSL",
        ),
        ({"KAFKA_SSL_CAFILE": "/etc/ca.pem"}, "only used with SSL or SASL_SSL"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "kafka_security_protocol"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "kafka_sasl_mechanism"),
    ],
)
def test_inconsistent_kafka_security_settings_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"RENEWALS_{name}", value)
    with pytest.raises(ValidationError) as failed:
        Settings()
    assert message in str(failed.value)
    assert "pw-never-shown" not in str(failed.value)


def _client_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id in CLIENTS)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in CLIENTS)
        )
    ]


def test_every_kafka_client_in_the_code_is_built_with_the_one_builder() -> None:
    sites = {
        f"{path.relative_to(ROOT)}:{call.lineno}": call
        for folder in ("services", "shared")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for call in _client_calls(path)
    }
    assert len(sites) >= 5, sorted(sites)
    for site, call in sites.items():
        spread = [k.value for k in call.keywords if k.arg is None]
        assert [ast.unparse(value.func) for value in spread if isinstance(value, ast.Call)] == [
            "client_kwargs"
        ], site
        given = {k.arg for k in call.keywords}
        assert not given & {"bootstrap_servers", "client_id", "security_protocol"}, site


@pytest.fixture
async def tls_broker(pki: Pki) -> AsyncIterator[int]:
    """A TLS listener that answers one Kafka request header with its correlation id, as
    a broker's ApiVersions answer starts; its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            (size,) = struct.unpack(">i", await reader.readexactly(4))
            request = await reader.readexactly(size)
            writer.write(struct.pack(">i", 4) + request[4:8])
            await writer.drain()
        except (asyncio.IncompleteReadError, ssl.SSLError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def test_readiness_reaches_a_tls_broker_with_the_clients_context(
    pki: Pki, tls_broker: int
) -> None:
    address = f"127.0.0.1:{tls_broker}"
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(pki.ca_file))
    assert await broker_reachable(address, 2, ssl_context(settings)) is None
    assert await broker_reachable(address, 2) is not None
    untrusted = ssl_context(Settings(kafka_security_protocol="SSL"))
    assert await broker_reachable(address, 2, untrusted) == f"{address}: SSLCertVerificationError"
