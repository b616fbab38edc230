from __future__ import annotations

import pytest

from services.renewal_worker.apply import batch
from services.renewal_worker.sources.embedded import process_batch
from shared.events.types import EventType
from tests.renewal_worker.helpers import FakeHandler, emit_events
from tests.support.api import Harness


async def test_poison_events_are_listed_as_dead_letters(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "apply_events", FakeHandler(poison=frozenset({"goal.created"})))
    events = await emit_events(
        api.db, EventType.GOAL_CREATED, EventType.ACCOUNT_CREATED, EventType.GOAL_CREATED
    )
    await process_batch(api.db, holder="test")

    response = await api.client.get("/v1/admin/dead-letters")

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    assert [item["event_id"] for item in page["items"]] == [events[0]["id"], events[2]["id"]]
    item = page["items"][0]
    assert set(item) == {
        "id",
        "stream",
        "event_id",
        "source",
        "type",
        "error",
        "failed_at",
        "replayed_at",
        "event",
    }
    assert item["stream"] == "lifecycle"
    assert item["source"] == events[0]["source"]
    assert item["type"] == "goal.created"
    assert item["error"] == "ValueError: cannot apply goal.created"
    assert item["replayed_at"] is None
    assert item["event"] == events[0]
    assert item["failed_at"].endswith(("+00:00", "Z"))


async def test_dead_letters_page_with_a_cursor(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "apply_events", FakeHandler(poison=frozenset({"goal.updated"})))
    events = await emit_events(api.db, *[EventType.GOAL_UPDATED] * 3)
    await process_batch(api.db, holder="test")

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/admin/dead-letters", params=params)).json()
        seen += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [event["id"] for event in events]
    filtered = await api.client.get("/v1/admin/dead-letters", params={"replayed": "true"})
    assert filtered.json()["items"] == []


async def test_dead_letters_need_the_admin_scope(api: Harness) -> None:
    async with api.as_key(await api.new_key("read,write")) as client:
        response = await client.get("/v1/admin/dead-letters")
    assert response.status_code == 403
    async with api.as_key(None) as client:
        assert (await client.get("/v1/admin/dead-letters")).status_code == 401
