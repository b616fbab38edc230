"""What a key's scopes let the console do, and that every POST needs the page's token."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import update

from shared.models import Contract, Task
from tests.api.console.support import csrf_token, signed_in
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task

ANN = "ann@vendor.example"
TASK_FORM = 'action="/console/tasks/'
FORECAST_FORM = '/forecast" class="override"'


async def _task(api: Harness) -> tuple[Contract, Task]:
    today = date.today()
    account = await make_account(api.db, name="Initech", owner=ANN)
    contract = await make_contract(
        api.db,
        account,
        start_date=today - timedelta(days=200),
        end_date=today + timedelta(days=165),
    )
    task = await make_task(
        api.db,
        contract,
        owner=ANN,
        title="Call the new business owner",
        description="Why now: the business owner left.\nSteps: call them.",
        due_date=today,
    )
    return contract, task


async def _status(api: Harness, task: Task) -> tuple[str, str | None]:
    body = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    return body["status"], body["outcome"]


async def test_a_read_key_sees_the_pages_without_any_action_form(api: Harness) -> None:
    contract, task = await _task(api)
    async with (
        signed_in(api, "read") as reader,
        signed_in(api, "read,write") as writer,
        signed_in(api, "admin") as admin,
    ):
        for client, shown in ((reader, False), (writer, True)):
            week = await client.get("/console/week", params={"owner": ANN})
            page = await client.get(f"/console/contracts/{contract.id}")
            assert week.status_code == page.status_code == 200
            assert "Call the new business owner" in week.text
            assert "the business owner left." in week.text
            assert "Call the new business owner" in page.text
            assert (TASK_FORM in week.text) is shown
            assert (TASK_FORM in page.text) is shown
            assert (FORECAST_FORM in page.text) is shown
            assert ("<textarea" in week.text + page.text) is shown
            assert 'href="/console/operations"' not in week.text + page.text
        radar = (await admin.get("/console/radar")).text
    assert 'href="/console/operations"' in radar
    assert 'href="/console/partners"' in radar
    assert await _status(api, task) == ("open", None)


async def test_a_write_key_closes_a_task_with_an_outcome(api: Harness) -> None:
    _, task = await _task(api)
    async with signed_in(api, "read,write") as writer:
        week = await writer.get("/console/week", params={"owner": ANN})
        response = await writer.post(
            f"/console/tasks/{task.id}",
            data={
                "csrf_token": csrf_token(week.text),
                "status": "done",
                "outcome": "Met Dana.\r\nShe keeps the budget.",
                "back": f"/console/week?owner={ANN}",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/console/week?owner={ANN}"
        after = await writer.get(response.headers["location"])

    assert await _status(api, task) == ("done", "Met Dana.\nShe keeps the budget.")
    assert "Call the new business owner" not in after.text


async def test_a_post_without_the_token_or_the_scope_is_403_and_writes_nothing(
    api: Harness,
) -> None:
    contract, task = await _task(api)
    close, override = f"/console/tasks/{task.id}", f"/console/contracts/{contract.id}/forecast"
    async with signed_in(api, "read,write") as writer, signed_in(api, "read") as reader:
        token = csrf_token((await reader.get("/console/radar")).text)
        refused = {
            "no token": await writer.post(close, data={"status": "done"}),
            "a guessed token": await writer.post(
                close, data={"status": "done", "csrf_token": "guess"}
            ),
            "another session's token": await writer.post(
                override, data={"action": "override", "category": "lost", "csrf_token": token}
            ),
            "read key, close": await reader.post(
                close, data={"csrf_token": token, "status": "done"}
            ),
            "read key, override": await reader.post(
                override, data={"csrf_token": token, "action": "override", "category": "lost"}
            ),
        }

    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    assert "token" in refused["no token"].text
    assert "&#39;write&#39; scope" in refused["read key, close"].text
    assert await _status(api, task) == ("open", None)
    forecast = (await api.client.get(f"/v1/contracts/{contract.id}/forecast")).json()
    assert forecast["overridden"] is False


async def test_a_forecast_override_and_its_clearing_round_trip(api: Harness) -> None:
    contract, _ = await _task(api)
    forecast_url = f"/v1/contracts/{contract.id}/forecast"
    page_url = f"/console/contracts/{contract.id}"
    engine = (await api.client.get(forecast_url)).json()
    async with signed_in(api, "read,write", name="Ann's key") as writer:
        token = csrf_token((await writer.get(page_url)).text)
        invalid = await writer.post(
            f"{page_url}/forecast",
            data={
                "csrf_token": token,
                "action": "override",
                "category": "commit",
                "expected_arr": "12.345",
            },
        )
        unchanged = (await api.client.get(forecast_url)).json()
        overridden = await writer.post(
            f"{page_url}/forecast",
            data={
                "csrf_token": token,
                "action": "override",
                "category": "at_risk",
                "expected_arr": "18000.50",
                "note": "Budget cut announced",
            },
        )
        stored = (await api.client.get(forecast_url)).json()
        shown = (await writer.get(page_url)).text
        cleared = await writer.post(
            f"{page_url}/forecast", data={"csrf_token": token, "action": "clear"}
        )

    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("text/html")
    assert "expected_arr" in invalid.text
    assert unchanged == engine
    assert (overridden.status_code, overridden.headers["location"]) == (
        303,
        f"{page_url}#forecast",
    )
    assert (stored["category"], stored["expected_arr"], stored["note"], stored["set_by"]) == (
        "at_risk",
        "18000.50",
        "Budget cut announced",
        "Ann's key",
    )
    assert stored["overridden"] is True
    assert "Overridden by Ann&#39;s key" in shown
    assert "Clear override" in shown
    assert cleared.status_code == 303
    back = (await api.client.get(forecast_url)).json()
    assert back["overridden"] is False
    assert (back["category"], back["expected_arr"]) == (engine["category"], engine["expected_arr"])


async def test_the_contract_page_explains_the_health_band_in_words(api: Harness) -> None:
    contract, _ = await _task(api)
    async with api.db.transaction() as session:
        await session.execute(
            update(Contract)
            .where(Contract.id == contract.id)
            .values(
                health_score=45,
                health_band="yellow",
                health_signals=[
                    {"signal": "low_adoption", "points": -25},
                    {"signal": "outreach_not_done", "points": -15},
                ],
            )
        )
    async with signed_in(api, "read") as reader:
        page = await reader.get(f"/console/contracts/{contract.id}")
        unknown = await reader.get(f"/console/contracts/{uuid.uuid4()}")
        not_an_id = await reader.get("/console/contracts/not-an-id")

    assert '<span class="band yellow">Yellow</span> 45/100' in page.text
    assert "Fewer than half of the seats are in use." in page.text
    assert "the renewal outreach is not done" in page.text.replace("\n", " ").lower()
    assert "Initech" in page.text
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert not_an_id.status_code == 422


async def test_a_done_expansion_task_records_the_expected_arr_in_the_forecast(
    api: Harness,
) -> None:
    contract, task = await _task(api)
    expansion = await make_task(
        api.db,
        contract,
        kind="expansion_opportunity",
        owner=ANN,
        title="Expand to the EU team",
        due_date=date.today(),
    )
    async with signed_in(api, "read,write") as writer:
        page = await writer.get(f"/console/contracts/{contract.id}")
        token = csrf_token(page.text)
        assert f'id="expected-{expansion.id}" name="expected_arr"' in page.text
        assert f'id="expected-{task.id}"' not in page.text
        done = await writer.post(
            f"/console/tasks/{expansion.id}",
            data={
                "csrf_token": token,
                "status": "done",
                "expected_arr": "30000",
                "back": f"/console/contracts/{contract.id}",
            },
        )
        dismissed = await writer.post(
            f"/console/tasks/{task.id}",
            data={"csrf_token": token, "status": "dismissed", "back": "https://evil.example/"},
        )
        again = await writer.post(
            f"/console/tasks/{task.id}", data={"csrf_token": token, "status": "done"}
        )

    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/console/contracts/{contract.id}",
    )
    assert await _status(api, expansion) == ("done", None)
    forecast = (await api.client.get(f"/v1/contracts/{contract.id}/forecast")).json()
    assert forecast["expected_arr"] == "30000.00"
    assert (dismissed.status_code, dismissed.headers["location"]) == (303, "/console/week")
    assert again.status_code == 409
    assert await _status(api, task) == ("dismissed", None)
