from __future__ import annotations

from shared.models import OutboxEvent, Partner
from tests.support.api import Harness


async def test_partner_is_created_read_updated_and_listed(api: Harness) -> None:
    created = await api.client.post("/v1/partners", json={"name": "Acme Resellers", "tier": "gold"})
    assert created.status_code == 201, created.text
    partner = created.json()
    assert partner["name"] == "Acme Resellers"
    assert partner["tier"] == "gold"

    fetched = await api.client.get(f"/v1/partners/{partner['id']}")
    assert fetched.json() == partner

    updated = await api.client.patch(f"/v1/partners/{partner['id']}", json={"tier": None})
    assert updated.status_code == 200
    assert updated.json()["tier"] is None

    listed = await api.client.get("/v1/partners")
    assert [item["id"] for item in listed.json()["items"]] == [partner["id"]]
    assert [e["type"] for e in await api.events()] == ["partner.created", "partner.updated"]


async def test_partner_list_pages_with_a_cursor(api: Harness) -> None:
    ids = [
        (await api.client.post("/v1/partners", json={"name": f"P{i}"})).json()["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/partners", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_partner_name_cannot_be_nulled(api: Harness) -> None:
    partner = (await api.client.post("/v1/partners", json={"name": "P"})).json()
    response = await api.client.patch(f"/v1/partners/{partner['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert await api.count(OutboxEvent) == 1
    assert await api.count(Partner) == 1
