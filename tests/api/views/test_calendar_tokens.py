"""Calendar tokens: shown once, bound to one owner's feed, good for nothing else, and
revocable."""

from __future__ import annotations

import uuid

import pytest
from icalendar import Calendar

from shared.models import CalendarToken
from tests.support.api import Harness

ANN, BOB = "ann@vendor.example", "bob@vendor.example"


async def issue(api: Harness, owner: str = ANN) -> dict[str, str]:
    response = await api.client.post("/v1/calendar-tokens", json={"owner": owner})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


async def test_a_token_opens_its_owners_feed_from_the_url_alone(api: Harness) -> None:
    token = await issue(api)
    assert token["token"].startswith("rnc_")
    assert token["feed_path"].startswith("/v1/calendar.ics?owner=ann%40vendor.example&key=rnc_")
    async with api.as_key(None) as calendar_app:
        response = await calendar_app.get(token["feed_path"])

    assert response.status_code == 200, response.text
    assert Calendar.from_ical(response.content).get("X-WR-CALNAME") is not None


async def test_only_the_hash_is_stored_and_the_list_never_shows_the_token(api: Harness) -> None:
    token = await issue(api)
    listed = await api.client.get("/v1/calendar-tokens", params={"owner": ANN})

    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert "token" not in item
    assert (item["id"], item["prefix"]) == (token["id"], token["token"][:10])
    async with api.db.read() as session:
        row = await session.get(CalendarToken, uuid.UUID(item["id"]))
    assert row is not None
    assert token["token"] not in (row.token_hash, row.prefix)


async def test_a_token_opens_no_other_feed_and_no_other_route(api: Harness) -> None:
    token = (await issue(api))["token"]
    async with api.as_key(None) as anonymous:
        other = await anonymous.get("/v1/calendar.ics", params={"owner": BOB, "key": token})
        agenda = await anonymous.get("/v1/agenda", params={"owner": ANN, "key": token})
    async with api.as_key(token) as bearer:
        tasks = await bearer.get("/v1/tasks")

    assert other.status_code == 403, other.text
    assert agenda.status_code == 401, agenda.text
    assert tasks.status_code == 401, tasks.text


async def test_a_revoked_token_is_refused(api: Harness) -> None:
    token = await issue(api)
    revoked = await api.client.delete(f"/v1/calendar-tokens/{token['id']}")
    again = await api.client.delete(f"/v1/calendar-tokens/{token['id']}")
    async with api.as_key(None) as calendar_app:
        response = await calendar_app.get(token["feed_path"])

    assert (revoked.status_code, again.status_code) == (204, 204)
    assert response.status_code == 401, response.text


async def test_a_read_key_cannot_issue_tokens(api: Harness) -> None:
    async with api.as_key(await api.new_key("read")) as reader:
        response = await reader.post("/v1/calendar-tokens", json={"owner": ANN})

    assert response.status_code == 403, response.text
    assert await api.count(CalendarToken) == 0


@pytest.mark.parametrize(
    "owner",
    [
        "",
        " ",
        "ann@vendor.example\r\nX-EVIL: 1",
        "\rann@vendor.example",
        "ann\u0085@vendor.example",
    ],
    ids=["empty", "blank", "header-injection", "leading-carriage-return", "c1-control"],
)
async def test_a_bad_owner_is_422_with_nothing_written(api: Harness, owner: str) -> None:
    response = await api.client.post("/v1/calendar-tokens", json={"owner": owner})

    assert response.status_code == 422, response.text
    assert await api.count(CalendarToken) == 0


async def test_revoking_an_unknown_token_is_404(api: Harness) -> None:
    response = await api.client.delete("/v1/calendar-tokens/01a23d71-42ca-7000-af6f-d74595fd3a01")

    assert response.status_code == 404, response.text
