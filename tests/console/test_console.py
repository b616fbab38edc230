"""The console in Chromium against `renewals dev` serving the demo portfolio: what a
person sees and does, checked against the REST API with the same key, every page
screenshotted (test-artifacts/console/) and scanned by axe-core."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from urllib.parse import urlencode

from playwright.sync_api import Browser, expect

from tests.console.browser import PHONE
from tests.console.demo_server import DemoConsole, record_dead_letter
from tests.console.pages import checked, signed_in

WEEK_AHEAD = date.today() + timedelta(days=7)


def test_the_radars_totals_are_the_forecast_reports(browser: Browser, demo: DemoConsole) -> None:
    page = signed_in(browser, demo, "read")
    with demo.client("read") as api:
        report = api.get("/v1/reports/forecast").json()

    shown = {
        name: page.locator(f'[data-figure="{name}"]').inner_text()
        for name in ("arr_total", "at_risk_arr", "expected_arr", "contracts")
    }
    assert shown == {name: str(report["totals"][name]) for name in shown}
    assert report["totals"]["contracts"] > 0
    checked(page, "radar")


def test_the_radar_fits_a_phone(browser: Browser, demo: DemoConsole) -> None:
    page = signed_in(browser, demo, "read", viewport=PHONE)

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    checked(page, "radar-phone")


def test_a_bar_of_the_radar_opens_its_month_and_a_contract(
    browser: Browser, demo: DemoConsole
) -> None:
    page = signed_in(browser, demo, "read")
    busiest = max(
        page.locator("#radar-table tbody tr").all(),
        key=lambda row: int(row.locator('[data-field="contracts"]').inner_text()),
    )
    month = busiest.get_attribute("data-month")
    count = int(busiest.locator('[data-field="contracts"]').inner_text())

    bar = f"//*[local-name()='a'][starts-with(@*[local-name()='href'], '/console/radar/{month}')]"
    page.locator(f"xpath={bar}").filter(visible=True).first.click()

    page.wait_for_url(f"**/console/radar/{month}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(month))
    assert page.locator("main table tbody tr").count() == count
    checked(page, "radar-month")
    first = page.locator("main table tbody tr th a").first
    account = first.inner_text()
    first.click()

    page.wait_for_url("**/console/contracts/*")
    expect(page.get_by_role("heading", level=1)).to_have_text(account)
    checked(page, "contract")


def test_a_task_completed_on_the_week_page_is_done_in_the_api(
    browser: Browser, demo: DemoConsole
) -> None:
    with demo.client("write") as api:
        due = api.get(
            "/v1/tasks", params={"status": "open", "due_before": str(WEEK_AHEAD), "limit": 50}
        ).json()["items"]
    task = next(task for task in due if task["owner"])
    page = signed_in(browser, demo, "write")

    page.goto(f"/console/week?{urlencode({'owner': task['owner']})}")
    checked(page, "week")
    item = page.locator(f"#task-{task['id']}")
    item.get_by_label("Outcome").fill("Called the buyer; renewal in next year's budget.")
    item.get_by_role("button", name="Done").click()

    expect(page.locator(f"#task-{task['id']}")).to_have_count(0)
    with demo.client("read") as api:
        done = api.get(f"/v1/tasks/{task['id']}").json()
    assert (done["status"], done["outcome"]) == (
        "done",
        "Called the buyer; renewal in next year's budget.",
    )


def test_a_forecast_overridden_on_the_contract_page_is_the_apis(
    browser: Browser, demo: DemoConsole
) -> None:
    with demo.client("read") as api:
        months = api.get("/v1/reports/forecast").json()["items"]
    month = next(m["month"] for m in reversed(months) if m["contracts"] > 0)
    page = signed_in(browser, demo, "write")
    page.goto(f"/console/radar/{month}")
    page.locator("main table tbody tr th a").first.click()
    page.wait_for_url("**/console/contracts/*")
    contract_id = page.url.rsplit("/", 1)[-1].split("#")[0]

    override = page.get_by_role("form", name="Override the forecast")
    override.get_by_label("Category").select_option("at_risk")
    override.get_by_label("Expected ARR").fill("1234.50")
    override.get_by_label("Note").fill("Budget freeze announced.")
    override.get_by_role("button", name="Override").click()

    page.wait_for_url(f"**/console/contracts/{contract_id}*")
    with demo.client("read") as api:
        forecast = api.get(f"/v1/contracts/{contract_id}/forecast").json()
    assert (forecast["category"], forecast["expected_arr"], forecast["overridden"]) == (
        "at_risk",
        "1234.50",
        True,
    )
    assert forecast["note"] == "Budget freeze announced."


def test_the_partners_page_shows_the_retention_report(browser: Browser, demo: DemoConsole) -> None:
    page = signed_in(browser, demo, "read")
    with demo.client("read") as api:
        report = api.get("/v1/reports/retention").json()

    page.get_by_role("link", name="Partners").click()

    page.wait_for_url("**/console/partners")
    for item in report["items"]:
        row = page.locator(f'#retention-table tr[data-partner="{item["partner_id"] or "direct"}"]')
        assert row.locator('[data-field="active"]').inner_text() == str(item["active"])
        assert row.locator('[data-field="closed"]').inner_text() == str(item["closed"])
    assert page.locator("#retention-table tbody tr").count() == len(report["items"])
    checked(page, "partners")


def test_a_read_key_sees_no_action_and_no_operations(browser: Browser, demo: DemoConsole) -> None:
    page = signed_in(browser, demo, "read")
    actions = "main form[method=post], main button:not([type=button])"

    with demo.client("read") as api:
        [task] = api.get("/v1/tasks", params={"status": "open", "limit": 1}).json()["items"]
    for path in (
        "/console/radar",
        "/console/partners",
        f"/console/week?{urlencode({'owner': task['owner']})}",
        f"/console/contracts/{task['contract_id']}",
    ):
        page.goto(path)
        assert page.locator("main form[method=post]").count() == 0, path
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)
    refused = page.goto("/console/operations")
    assert refused is not None
    assert refused.status == 403
    assert page.locator(actions).count() == 0
    checked(page, "operations-refused")


def test_an_admin_replays_a_dead_letter(browser: Browser, demo: DemoConsole) -> None:
    letter = record_dead_letter(demo.db_url)
    page = signed_in(browser, demo, "admin")

    page.get_by_role("link", name="Operations").click()
    page.wait_for_url("**/console/operations")
    checked(page, "operations")
    page.locator(f'tr[data-id="{letter}"]').get_by_role("button", name="Replay").click()

    expect(page.get_by_role("status")).to_contain_text(f"Dead letter {letter} replayed")
    expect(page.locator(f'tr[data-id="{letter}"]')).to_have_count(0)
    with demo.client("admin") as api:
        letters = api.get("/v1/admin/dead-letters", params={"replayed": "true"}).json()["items"]
    assert [d["replayed_at"] is not None for d in letters if d["id"] == str(letter)] == [True]
    checked(page, "operations-replayed")
    assert re.search(r"/console/operations\?done=replayed", page.url)
    waiting = page.locator('[data-backlog="lifecycle"] [data-field="count"]')
    deadline = time.monotonic() + 10
    while waiting.inner_text() != "0" and time.monotonic() < deadline:
        time.sleep(0.2)
        page.reload()
    assert waiting.inner_text() == "0", "the worker did not take the replayed event"
    with demo.client("admin") as api:
        again = api.get("/v1/admin/dead-letters", params={"replayed": "false"}).json()["items"]
    assert again == []
