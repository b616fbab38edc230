"""Idempotency-Key semantics of DESIGN §5."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from shared.clock import utcnow
from shared.models import IdempotencyKey, OutboxEvent, Partner
from tests.support.api import Harness, serve_api


async def test_same_key_and_body_has_one_effect_and_replays_the_response(api: Harness) -> None:
    headers = {"Idempotency-Key": "create-acme"}
    first = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    second = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert await api.count(Partner) == 1
    assert await api.count(OutboxEvent) == 1


async def test_same_key_with_another_body_is_422_and_writes_nothing(api: Harness) -> None:
    headers = {"Idempotency-Key": "k1"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    other = await api.client.post("/v1/partners", json={"name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:renewals:problem:idempotency-key-reused"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await api.count(Partner) == 1


async def test_same_key_on_another_path_is_422(api: Harness) -> None:
    headers = {"Idempotency-Key": "k2"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    other = await api.client.post("/v1/accounts", json={"name": "Acme"}, headers=headers)
    assert other.status_code == 422


async def test_concurrent_requests_with_one_key_have_one_effect(api: Harness) -> None:
    headers = {"Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert all(
        r.json()["type"] == "urn:renewals:problem:idempotency-key-in-flight"
        for r in responses
        if r.status_code == 409
    )
    assert await api.count(Partner) == 1
    assert await api.count(OutboxEvent) == 1


async def test_keys_are_scoped_to_the_api_key(api: Harness) -> None:
    headers = {"Idempotency-Key": "shared-name"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    async with api.as_key(await api.new_key("write")) as other:
        response = await other.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await api.count(Partner) == 2


async def test_an_expired_key_runs_the_request_again(api: Harness) -> None:
    headers = {"Idempotency-Key": "old"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    async with api.db.transaction() as session:
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await api.count(Partner) == 2


async def test_errors_are_replayed_too(api: Harness) -> None:
    headers = {"Idempotency-Key": "bad"}
    first = await api.client.post("/v1/partners", json={"name": ""}, headers=headers)
    second = await api.client.post("/v1/partners", json={"name": ""}, headers=headers)
    assert first.status_code == second.status_code == 422
    assert second.json() == first.json()


async def test_an_overlong_key_is_rejected(api: Harness) -> None:
    response = await api.client.post(
        "/v1/partners", json={"name": "Acme"}, headers={"Idempotency-Key": "x" * 256}
    )
    assert response.status_code == 422
    assert await api.count(Partner) == 0


async def test_without_a_valid_api_key_the_key_is_not_recorded(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        response = await anonymous.post(
            "/v1/partners", json={"name": "Acme"}, headers={"Idempotency-Key": "anon"}
        )
    assert response.status_code == 401
    assert await api.count(IdempotencyKey) == 0


@pytest.mark.slow
async def test_a_retry_sent_as_soon_as_the_answer_arrives_is_replayed(
    db_url: str, tmp_path: Path
) -> None:
    """Over real sockets the client has the answer while the server may still run code
    after sending it (the in-process transport waits for the app to return, and hides
    that), so a retry sent at once probes when the answer is stored. 1,000 pairs in 8
    lanes: each pair is sequential, the lanes only save time."""

    async def lane(client: httpx.AsyncClient, lane: int) -> int:
        replayed = 0
        for pair in range(125):
            key = f"k{lane}-{pair}"
            request: dict[str, Any] = {"json": {"name": key}, "headers": {"Idempotency-Key": key}}
            first = await client.post("/v1/partners", **request)
            retry = await client.post("/v1/partners", **request)
            assert first.status_code == 201
            replayed += retry.status_code == 201 and retry.json() == first.json()
        return replayed

    async with serve_api(db_url, tmp_path) as served, served.client(timeout=30) as client:
        lanes = await asyncio.gather(*(lane(client, n) for n in range(8)))
    assert sum(lanes) == 1000


async def test_concurrent_retries_over_real_sockets_get_one_201_and_409s_or_replays(
    db_url: str, tmp_path: Path
) -> None:
    request: dict[str, Any] = {"json": {"name": "Acme"}, "headers": {"Idempotency-Key": "race"}}
    async with serve_api(db_url, tmp_path) as served, served.client(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/partners", **request) for _ in range(8))
        )
    first = [
        r for r in responses if "idempotent-replayed" not in r.headers and r.status_code == 201
    ]
    replays = [r for r in responses if "idempotent-replayed" in r.headers]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(first) == 1
    assert len(first) + len(replays) + len(in_flight) == 8
    assert all(r.json() == first[0].json() for r in replays)


async def _as_if_the_first_died(age: timedelta, api: Harness) -> None:
    async with api.db.transaction() as session:
        await session.execute(
            update(IdempotencyKey).values(
                response_status=None,
                response_headers=None,
                response_body=None,
                created_at=utcnow() - age,
            )
        )


async def test_a_key_left_in_flight_by_a_dead_request_is_taken_over(api: Harness) -> None:
    headers = {"Idempotency-Key": "orphan"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    await _as_if_the_first_died(timedelta(seconds=61), api)
    retry = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    again = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == retry.json()


async def test_a_key_in_flight_for_less_than_a_request_may_run_is_still_409(api: Harness) -> None:
    headers = {"Idempotency-Key": "running"}
    await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    await _as_if_the_first_died(timedelta(seconds=50), api)
    retry = await api.client.post("/v1/partners", json={"name": "Acme"}, headers=headers)
    assert retry.status_code == 409
    assert await api.count(Partner) == 1
