"""Signing secrets are sealed at rest, shown once with `Cache-Control: no-store`, never
kept to replay, and survive a key rotation (`renewals secrets rotate`)."""

from __future__ import annotations

import uuid

from pydantic import SecretStr
from sqlalchemy import func, select

from shared.domain.sealed_secrets import reseal_all
from shared.models import IdempotencyKey, WebhookDelivery, WebhookSubscription
from shared.secret_box import SecretBox, new_key
from tests.outbound_webhooks.conftest import delivering
from tests.outbound_webhooks.helpers import notify, settled, subscribe
from tests.outbound_webhooks.receiver import Receiver
from tests.support.api import Harness


async def _stored(hooks: Harness, subscription_id: str) -> WebhookSubscription:
    async with hooks.db.read() as session:
        row = await session.get(WebhookSubscription, uuid.UUID(subscription_id))
        assert row is not None
        return row


async def test_the_database_holds_the_secret_only_sealed(hooks: Harness) -> None:
    created = await hooks.client.post(
        "/v1/webhook-subscriptions",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["task.created"]},
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    secret = created.json()["secret"]
    row = await _stored(hooks, created.json()["id"])
    assert secret not in row.secret
    assert hooks.settings.secret_box().open(row.secret) == secret

    path = f"/v1/webhook-subscriptions/{created.json()['id']}/rotate-secret"
    rotated = await hooks.client.post(path)
    assert rotated.headers["cache-control"] == "no-store"
    row = await _stored(hooks, created.json()["id"])
    assert row.previous_secret is not None
    opened = [hooks.settings.secret_box().open(s) for s in (row.secret, row.previous_secret)]
    assert opened == [rotated.json()["secret"], secret]


async def test_a_retry_of_an_answer_with_a_secret_gets_409_and_nothing_kept_it(
    hooks: Harness,
) -> None:
    body = {"url": "https://93.184.216.34/hooks", "event_types": ["task.created"]}
    headers = {"Idempotency-Key": "create-hook-1"}
    first = await hooks.client.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    retry = await hooks.client.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert retry.status_code == 409, retry.text
    problem = retry.json()
    assert problem["type"].endswith("idempotency-answer-not-kept")
    assert "201" in problem["detail"]
    assert first.json()["secret"] not in retry.text
    other = await hooks.client.post(
        "/v1/webhook-subscriptions", json=body | {"enabled": False}, headers=headers
    )
    assert other.status_code == 422  # another request under the same key, as ever

    token_body = {"owner": "li@vendor.example"}
    token_headers = {"Idempotency-Key": "token-1"}
    token = await hooks.client.post("/v1/calendar-tokens", json=token_body, headers=token_headers)
    assert token.status_code == 201
    assert token.headers["cache-control"] == "no-store"
    again = await hooks.client.post("/v1/calendar-tokens", json=token_body, headers=token_headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("idempotency-answer-not-kept")

    async with hooks.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookSubscription)) == 1
        kept = (await session.scalars(select(IdempotencyKey))).all()
    assert {row.key for row in kept} == {"create-hook-1", "token-1"}
    assert all(row.response_body in (None, b"") for row in kept)


async def test_after_a_key_rotation_deliveries_are_signed_as_before(
    hooks: Harness, receiver: Receiver
) -> None:
    subscription = await subscribe(hooks, receiver.url)
    old_key = hooks.settings.secret_key[0].get_secret_value()
    new = new_key()
    rotating = SecretBox([new, old_key])
    counts: list[tuple[str, int]] = []
    resealed = await reseal_all(
        hooks.db, rotating, batch_size=1, progress=lambda t, n: counts.append((t, n))
    )
    assert resealed == 1
    assert counts == [("webhook_subscriptions", 1)]
    row = await _stored(hooks, subscription["id"])
    assert SecretBox([new]).open(row.secret) == subscription["secret"]

    await notify(hooks.db)
    async with delivering(hooks, secret_key=[SecretStr(new)]):
        [logged] = await settled(hooks, subscription["id"])
    assert logged["status"] == "delivered"
    [delivered] = await receiver.wait_for(1)
    delivered.verify(subscription["secret"])


async def test_a_secret_no_key_opens_fails_its_attempts_and_sends_nothing(
    hooks: Harness, receiver: Receiver
) -> None:
    subscription = await subscribe(hooks, receiver.url)
    await notify(hooks.db)
    async with delivering(
        hooks, secret_key=[SecretStr(new_key())], webhooks_retry_window_seconds=0.3
    ):
        [logged] = await settled(hooks, subscription["id"])
    assert logged["status"] == "failed"
    assert "cannot be decrypted" in logged["last_error"]
    assert receiver.received == []
    async with hooks.db.read() as session:
        attempts = await session.scalar(select(WebhookDelivery.attempts))
    assert attempts is not None
    assert attempts >= 1
