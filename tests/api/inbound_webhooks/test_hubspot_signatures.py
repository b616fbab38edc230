"""`POST /v1/webhooks/hubspot`: HubSpot's v3 signature, checked before anything is read."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.api.inbound_webhooks.signatures import hubspot_uri
from shared.config import Settings
from shared.models import Account, InboxKey
from tests.api.inbound_webhooks.support import (
    HUBSPOT_SECRET,
    HUBSPOT_SECRET_NEW,
    PUBLIC_BASE_URL,
    counts,
    dumps,
    hubspot_headers,
)
from tests.support.api import Harness, open_harness
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env

URL = "/v1/webhooks/hubspot"


def company_created(object_id: int = 101, event_id: int = 1) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 77,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "company.creation",
        "attemptNumber": 0,
        "objectId": object_id,
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
    }


async def test_a_delivery_signed_with_the_v3_recipe_is_applied(hooks: Harness) -> None:
    body = dumps([company_created()])
    async with hooks.as_key(None) as hubspot:
        response = await hubspot.post(URL, content=body, headers=hubspot_headers(body))

    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 1
    accounts = (await hooks.client.get("/v1/accounts")).json()["items"]
    assert [(a["name"], a["external_ids"]) for a in accounts] == [
        ("HubSpot company 101", {"hubspot": "101"})
    ]


async def test_the_signed_uri_comes_from_the_public_base_url(db_url: str) -> None:
    """HubSpot signs the URL it called, never what the Host header says; the escapes it
    decodes are decoded."""
    async with open_harness(
        db_url,
        hubspot_client_secret=HUBSPOT_SECRET,
        public_base_url="https://renewals.example.com/",
    ) as api:
        body = dumps([company_created()])
        signed_uri = "https://renewals.example.com/v1/webhooks/hubspot?app=crm:eu&at=a%20b"
        async with api.as_key(None) as hubspot:
            response = await hubspot.post(
                f"{URL}?app=crm%3Aeu&at=a%20b",
                content=body,
                headers=hubspot_headers(body, signed_uri),
            )
            assert response.status_code == 200, response.text
            as_seen_locally = await hubspot.post(
                URL, content=body, headers=hubspot_headers(body, f"http://test{URL}")
            )
            assert as_seen_locally.status_code == 401
            spoofed = "https://attacker.example"
            as_the_host_header_says = await hubspot.post(
                URL,
                content=body,
                headers=hubspot_headers(body, f"{spoofed}{URL}") | {"host": "attacker.example"},
            )
            assert as_the_host_header_says.status_code == 401


def test_hubspot_decodes_only_its_listed_escapes() -> None:
    uri = hubspot_uri(
        "https://h.example", "/hook", "a=%3a%2F%3F%40%21%24%27%28%29%2A%2C%3B&b=%20%26%3D"
    )
    assert uri == "https://h.example/hook?a=:/?@!$'()*,;&b=%20%26%3D"


async def test_refused_deliveries_change_nothing(hooks: Harness) -> None:
    valid = dumps([company_created()])
    now_ms = int(time.time() * 1000)
    signed = hubspot_headers(valid)
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        ("forged", valid, hubspot_headers(valid, secret="not the client secret"), 401),
        ("stale", valid, hubspot_headers(valid, at_ms=now_ms - 6 * 60 * 1000), 401),
        ("from the future", valid, hubspot_headers(valid, at_ms=now_ms + 6 * 60 * 1000), 401),
        ("unsigned", valid, {"content-type": "application/json"}, 401),
        ("tampered", valid.replace(b"101", b"666"), signed, 401),
        ("seconds, not ms", valid, hubspot_headers(valid, at_ms=now_ms // 1000), 401),
        ("huge timestamp", valid, signed | {"X-HubSpot-Request-Timestamp": "9" * 40}, 401),
        ("signed for another URI", valid, hubspot_headers(valid, "http://test/elsewhere"), 401),
    ]
    for name, body in [
        ("not JSON", b"[{"),
        ("an object", dumps(company_created())),
        ("no eventId", dumps([{k: v for k, v in company_created().items() if k != "eventId"}])),
        ("an id as text", dumps([company_created() | {"objectId": "one"}])),
    ]:
        cases.append((name, body, hubspot_headers(body), 400))
    oversize = dumps([company_created(event_id=n) for n in range(6000)])
    cases.append(("oversize", oversize, hubspot_headers(oversize), 413))
    before = await counts(hooks)

    async with hooks.as_key(None) as hubspot:
        for name, body, headers, status in cases:
            response = await hubspot.post(URL, content=body, headers=headers)
            assert response.status_code == status, (name, response.text)
            assert response.headers["content-type"] == "application/problem+json", name

    assert await counts(hooks) == before


async def test_a_redelivery_changes_nothing(hooks: Harness) -> None:
    body = dumps([company_created(101, event_id=1), company_created(102, event_id=2)])
    async with hooks.as_key(None) as hubspot:
        first = await hubspot.post(URL, content=body, headers=hubspot_headers(body))
        assert first.json()["applied"] == 2
        before = await counts(hooks)
        again = await hubspot.post(URL, content=body, headers=hubspot_headers(body))

    assert again.status_code == 200
    assert [item["outcome"] for item in again.json()["items"]] == ["duplicate", "duplicate"]
    assert await counts(hooks) == before
    assert before[InboxKey.__tablename__] == 2
    assert before[Account.__tablename__] == 2


async def test_without_a_client_secret_the_endpoint_refuses_every_delivery(api: Harness) -> None:
    body = dumps([company_created()])
    async with api.as_key(None) as hubspot:
        response = await hubspot.post(URL, content=body, headers=hubspot_headers(body))
    assert response.status_code == 401
    assert "RENEWALS_HUBSPOT_CLIENT_SECRET" in response.json()["detail"]
    assert await api.count(Account) == 0


async def test_while_rotating_either_of_two_client_secrets_verifies(db_url: str) -> None:
    async with open_harness(
        db_url,
        hubspot_client_secret=f"{HUBSPOT_SECRET}, {HUBSPOT_SECRET_NEW}",
        public_base_url=PUBLIC_BASE_URL,
    ) as api:
        async with api.as_key(None) as hubspot:
            for event_id, secret in enumerate([HUBSPOT_SECRET, HUBSPOT_SECRET_NEW], start=1):
                body = dumps([company_created(100 + event_id, event_id)])
                headers = hubspot_headers(body, secret=secret)
                response = await hubspot.post(URL, content=body, headers=headers)
                assert response.status_code == 200, response.text
            body = dumps([company_created(103, 3)])
            forged = hubspot_headers(body, secret="a secret nobody configured")
            assert (await hubspot.post(URL, content=body, headers=forged)).status_code == 401
        assert await api.count(Account) == 2


def test_more_than_two_client_secrets_are_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="at most 2"):
        Settings(hubspot_client_secret="a,b,c", public_base_url=PUBLIC_BASE_URL)


def test_a_client_secret_without_the_public_base_url_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="RENEWALS_PUBLIC_BASE_URL is required"):
        Settings(hubspot_client_secret=HUBSPOT_SECRET)


def test_renewals_api_exits_non_zero_without_the_public_base_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [RENEWALS, "api"],
        env=cli_env(f"sqlite+aiosqlite:///{tmp_path / 'renewals.db'}")
        | {"RENEWALS_HUBSPOT_CLIENT_SECRET": HUBSPOT_SECRET, "RENEWALS_API_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    said = " ".join(done.stderr.split())
    assert "RENEWALS_PUBLIC_BASE_URL is required when RENEWALS_HUBSPOT_CLIENT_SECRET is set" in (
        said
    )
    assert HUBSPOT_SECRET not in done.stderr + done.stdout
