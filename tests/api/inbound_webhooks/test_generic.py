"""`POST /v1/webhooks/generic`: Standard Webhooks deliveries of CloudEvents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shared.models import Account, InboxKey
from tests.api.inbound_webhooks.support import (
    SECRET_FOREIGN,
    SECRET_NEW,
    SECRET_OLD,
    cloudevent,
    counts,
    dumps,
    standard_headers,
)
from tests.support.api import Harness

URL = "/v1/webhooks/generic"


async def test_a_signed_cloudevent_is_applied_like_post_events(hooks: Harness) -> None:
    body = dumps(cloudevent("account.created", {"name": "Initech", "external_ids": {"crm": "7"}}))
    # An Idempotency-Key without an API key leaves the delivery to the signature check.
    headers = standard_headers(body, msg_id="msg_1") | {"Idempotency-Key": "k1"}
    async with hooks.as_key(None) as sender:
        response = await sender.post(URL, content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json() | {"items": None} == {
        "webhook_id": "msg_1",
        "duplicate": False,
        "accepted": 1,
        "duplicates": 0,
        "items": None,
    }
    (event,) = await hooks.events("account.")
    assert event["actor"] == "webhook:generic"
    assert event["time"].startswith("2026-03-01T09:00:00")
    assert event["data"]["name"] == "Initech"
    async with hooks.db.read() as session:
        keys = set((await session.execute(select(InboxKey.consumer, InboxKey.event_id))).all())
    assert ("webhook:generic", "msg_1") in keys


async def test_both_secrets_of_a_rotation_are_accepted(hooks: Harness) -> None:
    async with hooks.as_key(None) as sender:
        for secret in (SECRET_OLD, SECRET_NEW):
            batch = [
                cloudevent("account.created", {"name": f"Signed with {secret[:12]} {n}"})
                for n in range(2)
            ]
            body = dumps(batch)
            response = await sender.post(URL, content=body, headers=standard_headers(body, secret))
            assert response.status_code == 202, response.text
            assert response.json()["accepted"] == 2
    assert await hooks.count(Account) == 4


async def test_a_replayed_delivery_changes_nothing(hooks: Harness) -> None:
    body = dumps([cloudevent("account.created", {"name": "Initech"})])
    headers = standard_headers(body, msg_id="msg_replayed")
    async with hooks.as_key(None) as sender:
        assert (await sender.post(URL, content=body, headers=headers)).status_code == 202
        before = await counts(hooks)
        # A retry is signed afresh with the same webhook-id.
        again = standard_headers(body, SECRET_OLD, msg_id="msg_replayed")
        response = await sender.post(URL, content=body, headers=again)

    assert response.status_code == 202
    assert response.json()["duplicate"] is True
    assert await counts(hooks) == before


async def test_refused_deliveries_change_nothing(hooks: Harness) -> None:
    valid = dumps(cloudevent("account.created", {"name": "Initech"}))
    stale = datetime.now(UTC) - timedelta(minutes=6)
    future = datetime.now(UTC) + timedelta(minutes=6)
    signed = standard_headers(valid)
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        ("forged", valid, standard_headers(valid, SECRET_FOREIGN), 401),
        ("stale", valid, standard_headers(valid, at=stale), 401),
        ("from the future", valid, standard_headers(valid, at=future), 401),
        ("unsigned", valid, {"content-type": "application/json"}, 401),
        ("tampered", valid.replace(b"Initech", b"Evil Co"), signed, 401),
        ("garbage signature", valid, signed | {"webhook-signature": "v1"}, 401),
        ("not JSON", b"{not json", standard_headers(b"{not json"), 400),
        ("not UTF-8", b"\xff\xfe", signed | {"webhook-signature": "v1,AAAA"}, 401),
        ("a JSON string", b'"hello"', standard_headers(b'"hello"'), 400),
        ("not a CloudEvent", b'{"id": 1}', standard_headers(b'{"id": 1}'), 422),
        ("an empty batch", b"[]", standard_headers(b"[]"), 422),
    ]
    half_bad = dumps(
        [cloudevent("account.created", {"name": "Initech"}), cloudevent("account.created", {})]
    )
    cases.append(("half a bad batch", half_bad, standard_headers(half_bad), 422))
    oversize = dumps([cloudevent("account.created", {"name": "x" * 200})] * 4000)
    cases.append(("oversize", oversize, standard_headers(oversize), 413))
    before = await counts(hooks)

    async with hooks.as_key(None) as sender:
        for name, body, headers, status in cases:
            response = await sender.post(URL, content=body, headers=headers)
            assert response.status_code == status, (name, response.text)
            assert response.headers["content-type"] == "application/problem+json", name

    assert await counts(hooks) == before


async def test_a_delivery_naming_an_unknown_external_id_is_404_and_changes_nothing(
    hooks: Harness,
) -> None:
    body = dumps(
        [
            cloudevent("account.created", {"name": "Initech"}),
            cloudevent("account.updated", {"external_ids": {"crm": "nope"}, "name": "X"}),
        ]
    )
    before = await counts(hooks)
    async with hooks.as_key(None) as sender:
        response = await sender.post(URL, content=body, headers=standard_headers(body))
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "[1].data.external_ids"
    assert await counts(hooks) == before


async def test_without_secrets_the_endpoint_refuses_every_delivery(api: Harness) -> None:
    body = dumps(cloudevent("account.created", {"name": "Initech"}))
    async with api.as_key(None) as sender:
        response = await sender.post(URL, content=body, headers=standard_headers(body))
    assert response.status_code == 401
    assert response.json()["type"] == "urn:renewals:problem:webhook-not-configured"
    assert "RENEWALS_INBOUND_GENERIC_SECRETS" in response.json()["detail"]
    assert await api.count(Account) == 0
