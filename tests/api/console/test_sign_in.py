"""Signing in with an API key, the session cookie, and what ends a session."""

from __future__ import annotations

import json
import time
import uuid

from cryptography.fernet import Fernet
from sqlalchemy import select

from services.api.app import create_app
from shared.config import Settings
from shared.domain.auth.service import revoke_key
from shared.models import ApiKey
from tests.api.console.support import browser, csrf_token, signed_in
from tests.support.api import Harness, open_harness

COOKIE = "renewals_console"


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


async def test_signing_in_sets_a_sealed_http_only_strict_cookie(api: Harness) -> None:
    key = await api.new_key("read", name="reader")
    async with browser(api, "https://test") as client:
        form = await client.get("/console")
        response = await client.post("/console/sign-in", data={"api_key": key})
        home = await client.get("/console")
    async with browser(api) as plain_http:
        over_http = await plain_http.post("/console/sign-in", data={"api_key": key})

    assert form.status_code == 200
    assert 'name="api_key"' in form.text
    assert response.status_code == 303
    assert response.headers["location"] == "/console/radar"
    cookie = response.headers["set-cookie"]
    assert {"httponly", "secure", "path", "samesite", "max-age"} <= _attributes(cookie)
    assert "Path=/console" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie
    assert key not in cookie
    assert key[4:] not in cookie
    assert (home.status_code, home.headers["location"]) == (303, "/console/radar")
    assert over_http.status_code == 303
    assert "secure" not in _attributes(over_http.headers["set-cookie"])


async def test_refused_sign_ins_set_no_cookie(api: Harness) -> None:
    """A wrong key, a key without `read`, and a sign-in another site sent (nobody may
    sign a visitor in with a key of theirs)."""
    write_only = await api.new_key("write")
    reader = await api.new_key("read")
    async with browser(api) as client:
        wrong = await client.post("/console/sign-in", data={"api_key": "rnw_not-a-key"})
        no_read = await client.post("/console/sign-in", data={"api_key": write_only})
        cross_site = await client.post(
            "/console/sign-in",
            data={"api_key": reader},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        after = await client.get("/console/radar")

    assert (wrong.status_code, no_read.status_code, cross_site.status_code) == (401, 403, 403)
    assert "unknown, revoked or expired" in wrong.text
    assert "no &#39;read&#39; scope" in no_read.text
    for response in (wrong, no_read, cross_site):
        assert "set-cookie" not in response.headers
    assert after.status_code == 303


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


async def test_an_expired_or_foreign_session_is_refused(api: Harness) -> None:
    await api.new_key("read", name="yesterday")
    async with api.db.read() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "yesterday"))
    payload = json.dumps({"key": str(key_id), "csrf": "x"}).encode()
    deployment_key = Fernet(api.settings.secret_key[0].get_secret_value())
    cookies = {
        "nine hours old": deployment_key.encrypt_at_time(payload, int(time.time()) - 9 * 3600),
        "another deployment's": Fernet(Fernet.generate_key()).encrypt(payload),
        "fresh": deployment_key.encrypt(payload),
    }
    statuses = {}
    async with browser(api) as client:
        for name, sealed in cookies.items():
            client.cookies.clear()
            client.cookies.set(COOKIE, sealed.decode(), path="/console")
            statuses[name] = (await client.get("/console/radar")).status_code

    assert statuses == {"nine hours old": 303, "another deployment's": 303, "fresh": 200}


async def test_signing_out_ends_the_session(api: Harness) -> None:
    async with signed_in(api, "read") as client:
        page = await client.get("/console/radar")
        response = await client.post(
            "/console/sign-out", data={"csrf_token": csrf_token(page.text)}
        )
        assert response.status_code == 303
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert (await client.get("/console/radar")).status_code == 303


def test_console_routes_are_not_in_the_openapi_document() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    paths = app.openapi()["paths"]
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
