"""`/v1/webhook-subscriptions`: admin only, validated, the secret shown only once."""

from __future__ import annotations

import uuid

from shared.models import WebhookSubscription
from tests.outbound_webhooks.helpers import ALL_TYPES, subscribe
from tests.support.api import Harness, open_harness

URL = "https://93.184.216.34/hooks"  # a public address literal: no DNS needed


async def test_subscriptions_are_created_read_paged_changed_and_deleted(hooks: Harness) -> None:
    created = await subscribe(hooks, URL, event_types=["task.created"])
    assert created["secret"].startswith("whsec_")
    assert (created["enabled"], created["event_types"]) == (True, ["task.created"])
    path = f"/v1/webhook-subscriptions/{created['id']}"
    one = await hooks.client.get(path)
    assert one.status_code == 200
    assert "secret" not in one.json()

    ids = [created["id"]] + [(await subscribe(hooks, URL))["id"] for _ in range(2)]
    first = (await hooks.client.get("/v1/webhook-subscriptions?limit=2")).json()
    cursor = first["next_cursor"]
    second = (await hooks.client.get(f"/v1/webhook-subscriptions?limit=2&cursor={cursor}")).json()
    assert [i["id"] for i in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
    assert all("secret" not in item for item in first["items"])

    partner = (await hooks.client.post("/v1/partners", json={"name": "Nordic"})).json()
    changes = {"event_types": ["contract.churned"], "partner_id": partner["id"], "enabled": False}
    patched = await hooks.client.patch(path, json=changes)
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in changes} == changes
    assert (await hooks.client.patch(path, json={"partner_id": None})).json()["partner_id"] is None
    assert (await hooks.client.patch(path, json={"url": None})).status_code == 422
    assert (await hooks.client.delete(path)).status_code == 204
    assert (await hooks.client.get(path)).status_code == 404
    assert (await hooks.client.get(path + "/deliveries")).status_code == 404


BAD_INPUT: list[tuple[dict[str, object], str]] = [
    ({"url": URL, "event_types": ["account.created"]}, "event_types[0]"),
    ({"url": URL, "event_types": []}, "event_types"),
    ({"url": URL, "event_types": ["task.created", "task.created"]}, "event_types"),
    ({"url": "ftp://93.184.216.34/x", "event_types": ALL_TYPES}, "url"),
    ({"url": "not a url", "event_types": ALL_TYPES}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data", "event_types": ALL_TYPES}, "url"),
    ({"url": "http://localhost:8000/v1/admin", "event_types": ALL_TYPES}, "url"),
    ({"url": URL, "event_types": ALL_TYPES, "secret": "whsec_x"}, "secret"),
]


async def test_bad_input_private_urls_and_other_keys_are_refused(db_url: str) -> None:
    async with open_harness(db_url) as harness:  # private addresses not allowed
        for body, field in BAD_INPUT:
            response = await harness.client.post("/v1/webhook-subscriptions", json=body)
            assert response.status_code == 422, response.text
            assert field in [error["field"] for error in response.json()["errors"]], body
        unknown = {"url": URL, "event_types": ALL_TYPES, "partner_id": str(uuid.uuid4())}
        response = await harness.client.post("/v1/webhook-subscriptions", json=unknown)
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "partner_id"
        assert await harness.count(WebhookSubscription) == 0

        created = await subscribe(harness, URL)
        patched = await harness.client.patch(
            f"/v1/webhook-subscriptions/{created['id']}", json={"url": "http://10.0.0.7/x"}
        )
        assert patched.status_code == 422
        assert "non-public" in patched.json()["detail"]

        async with harness.as_key(await harness.new_key("read,write")) as client:
            assert (await client.get("/v1/webhook-subscriptions")).status_code == 403
