"""Every route under /v1 demands a key, and the right scope for what it does."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from services.api.app import create_app
from shared.clock import utcnow
from shared.config import Settings
from shared.domain.auth.service import create_key, hash_key, revoke_key
from shared.enums import Scope
from shared.models import ApiKey
from tests.support.api import Harness


def _routes() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document publishes under /v1 (webhooks sign instead)."""
    paths = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/") and not path.startswith("/v1/webhooks/")
        for method in operations
    )


ROUTES = _routes()


def _needed(method: str, path: str) -> str:
    if path.startswith(("/v1/admin/", "/v1/webhook-subscriptions")):
        return "admin"
    if (method, path) == ("DELETE", "/v1/stakeholders/{stakeholder_id}"):
        return "admin"  # an erasure cannot be undone
    if path.startswith("/v1/calendar-tokens"):
        return "write"  # they open feeds: managing them is not reading
    return "read" if method == "GET" else "write"


def _wrong_for(needed: str) -> str:
    return {"read": "write", "write": "read", "admin": "read,write"}[needed]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_the_route_table_is_not_empty() -> None:
    assert len(ROUTES) >= 3


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_route_requires_a_key_and_its_scope(api: Harness, method: str, path: str) -> None:
    needed = _needed(method, path)
    url = _concrete(path)
    body = {} if method in {"POST", "PATCH", "PUT"} else None

    async with api.as_key(None) as anonymous:
        response = await anonymous.request(method, url, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"

    async with api.as_key("rnw_not-a-real-key") as unknown:
        assert (await unknown.request(method, url, json=body)).status_code == 401

    async with api.as_key(await api.new_key(_wrong_for(needed))) as wrong:
        response = await wrong.request(method, url, json=body)
    assert response.status_code == 403, response.text
    assert needed in response.json()["detail"]

    async with api.as_key(await api.new_key(needed)) as right:
        response = await right.request(method, url, json=body)
    assert response.status_code not in {401, 403}, response.text


async def test_a_revoked_key_is_refused(api: Harness) -> None:
    key = await api.new_key("read")
    async with api.as_key(key) as client:
        assert (await client.get("/v1/partners")).status_code == 200
        async with api.db.transaction() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
            assert row is not None
            await revoke_key(session, row.id)
        assert (await client.get("/v1/partners")).status_code == 401


async def test_keys_are_stored_only_as_hashes(api: Harness) -> None:
    key = await api.new_key("read")
    async with api.db.read() as session:
        rows = (await session.scalars(select(ApiKey))).all()
    assert all(key not in (row.key_hash, row.prefix, row.name) for row in rows)
    assert any(row.key_hash == hashlib.sha256(key.encode()).hexdigest() for row in rows)


async def test_an_expired_key_is_refused_like_a_revoked_one(api: Harness) -> None:
    async with api.db.transaction() as session:
        _, expired = await create_key(
            session,
            name="contractor",
            scopes=frozenset({Scope.READ}),
            expires_at=utcnow() - timedelta(seconds=1),
        )
        _, current = await create_key(
            session,
            name="contractor",
            scopes=frozenset({Scope.READ}),
            expires_at=utcnow() + timedelta(hours=1),
        )
    async with api.as_key(expired) as client:
        refused = await client.get("/v1/partners")
    async with api.as_key(current) as client:
        accepted = await client.get("/v1/partners")

    assert refused.status_code == 401, refused.text
    assert accepted.status_code == 200, accepted.text


async def test_a_key_records_its_last_use_at_most_once_a_minute(api: Harness) -> None:
    key = await api.new_key("read,write")

    async def last_used() -> object:
        async with api.db.read() as session:
            return await session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.key_hash == hash_key(key))
            )

    assert await last_used() is None
    async with api.as_key(key) as client:
        assert (await client.get("/v1/partners")).status_code == 200
        first = await last_used()
        assert isinstance(first, datetime)
        assert timedelta(0) <= utcnow() - first < timedelta(seconds=10)
        assert (await client.post("/v1/partners", json={"name": "P"})).status_code == 201
        assert (await client.get("/v1/partners")).status_code == 200
        assert await last_used() == first  # within the minute: not written again

        a_while_ago = utcnow() - timedelta(minutes=1, seconds=1)
        async with api.db.transaction() as session:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.key_hash == hash_key(key))
                .values(last_used_at=a_while_ago)
            )
        assert (await client.post("/v1/partners", json={"name": "Q"})).status_code == 201
        later = await last_used()
    assert isinstance(later, datetime)
    assert later > a_while_ago + timedelta(minutes=1)
