"""Signing in with an API key, the session cookie, and what ends a session."""

from __future__ import annotations

import json
import time
import uuid

from cryptography.fernet import Fernet
from sqlalchemy import select

from shared.domain.auth.service import revoke_key
from shared.models import ApiKey
from tests.api.console.support import browser, csrf_token, signed_in
from tests.support.api import Harness, open_harness

COOKIE = "renewals_console"


async def test_signing_in_sets_a_sealed_http_only_strict_cookie(api: Harness) -> None:
    key = await api.new_key("read", name="reader")
    async with browser(api, "https://test") as client:
        form = await client.get("/console")
        response = await client.post("/console/sign-in", data={"api_key": key})

    assert form.status_code == 200
    assert 'name="api_key"' in form.text
    assert response.status_code == 303
    assert response.headers["location"] == "/console/radar"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "samesite", "max-age"} <= attributes
    assert "Path=/console" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie
    assert key not in cookie
    assert key[4:] not in cookie


async def test_the_cookie_is_not_secure_over_plain_http(api: Harness) -> None:
    key = await api.new_key("read")
    async with browser(api) as client:
        response = await client.post("/console/sign-in", data={"api_key": key})
    assert response.status_code == 303
    assert "secure" not in response.headers["set-cookie"].lower()


async def test_a_wrong_key_gets_the_form_again_and_no_cookie(api: Harness) -> None:
    async with browser(api) as client:
        response = await client.post("/console/sign-in", data={"api_key": "rnw_not-a-key"})
        assert response.status_code == 401
        assert "unknown, revoked or expired" in response.text
        assert "set-cookie" not in response.headers
        assert (await client.get("/console/radar")).status_code == 303


async def test_a_sign_in_sent_from_another_site_is_refused(api: Harness) -> None:
    key = await api.new_key("read")
    async with browser(api) as client:
        response = await client.post(
            "/console/sign-in", data={"api_key": key}, headers={"Sec-Fetch-Site": "cross-site"}
        )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_a_write_only_key_cannot_sign_in(api: Harness) -> None:
    key = await api.new_key("write")
    async with browser(api) as client:
        response = await client.post("/console/sign-in", data={"api_key": key})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_every_page_without_a_session_redirects_to_the_sign_in_form(api: Harness) -> None:
    async with browser(api) as client:
        for path in (
            "/console/radar",
            f"/console/radar/{time.strftime('%Y-%m')}",
            "/console/week",
            f"/console/contracts/{uuid.uuid4()}",
        ):
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/console"


async def test_signed_in_the_form_leads_to_the_radar(api: Harness) -> None:
    async with signed_in(api, "read") as client:
        response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/radar"


async def test_revoking_the_key_ends_the_session(api: Harness) -> None:
    async with signed_in(api, "read", name="soon revoked") as client:
        assert (await client.get("/console/radar")).status_code == 200
        async with api.db.transaction() as session:
            key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "soon revoked"))
            assert key_id is not None
            await revoke_key(session, key_id)

        response = await client.get("/console/radar")

    assert response.status_code == 303
    assert response.headers["location"] == "/console"


async def test_an_expired_session_is_refused(api: Harness) -> None:
    await api.new_key("read", name="yesterday")
    async with api.db.read() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "yesterday"))
    payload = json.dumps({"key": str(key_id), "csrf": "x"}).encode()
    nine_hours_ago = int(time.time()) - 9 * 3600
    deployment_key = Fernet(api.settings.secret_key[0].get_secret_value())
    stale = deployment_key.encrypt_at_time(payload, nine_hours_ago).decode()
    fresh = deployment_key.encrypt(payload).decode()

    async with browser(api) as client:
        client.cookies.set(COOKIE, stale, path="/console")
        refused = await client.get("/console/radar")
        client.cookies.clear()
        client.cookies.set(COOKIE, fresh, path="/console")
        accepted = await client.get("/console/radar")

    assert refused.status_code == 303
    assert refused.headers["location"] == "/console"
    assert accepted.status_code == 200


async def test_a_forged_cookie_is_refused(api: Harness) -> None:
    async with api.db.read() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "admin"))
    payload = json.dumps({"key": str(key_id), "csrf": "x"}).encode()
    forged = Fernet(Fernet.generate_key()).encrypt(payload).decode()
    async with browser(api) as client:
        client.cookies.set(COOKIE, forged, path="/console")
        response = await client.get("/console/radar")
    assert response.status_code == 303


async def test_signing_out_ends_the_session(api: Harness) -> None:
    async with signed_in(api, "read") as client:
        page = await client.get("/console/radar")
        response = await client.post(
            "/console/sign-out", data={"csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == 303
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert (await client.get("/console/radar")).status_code == 303


async def test_console_routes_are_not_in_the_openapi_document(api: Harness) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert [path for path in paths if path.startswith("/console")] == []
    assert "/v1/reports/forecast" in paths


async def test_without_a_secret_key_on_postgres_the_console_says_what_is_missing(
    postgres_db_url: str,
) -> None:
    async with open_harness(postgres_db_url, secret_key=[]) as api:
        key = await api.new_key("read")
        async with browser(api) as client:
            response = await client.post("/console/sign-in", data={"api_key": key})
    assert response.status_code == 503
    assert "RENEWALS_SECRET_KEY" in response.text
    assert "set-cookie" not in response.headers
