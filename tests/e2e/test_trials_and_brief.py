"""Add-on trials and the brief's outcomes through the public API only, on SQLite and on
Postgres: a trial recorded by a CRM gets its own `trial_ending` task on its opening day,
naming it; the brief lists what the account manager learned from the term's done tasks.

Trials are recorded as CloudEvents (the trial's dates and the change's time are then
fixed); tasks are closed with REST calls, so the brief's closing dates are today's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.crm import InProcessCrm, assert_playbook, one
from tests.support.api import Harness


async def test_a_trial_recorded_mid_term_opens_its_own_task_on_its_day_naming_it(
    api: Harness,
) -> None:
    """The worked example's contract (S = 2026-03-15, R = 2027-03-15) with a trial of its
    own before S; a 30-day trial of a module recorded on 2026-06-01 ends on 2026-07-01:
    its task opens on 2026-06-17, due 2026-06-24, and the contract's trial is untouched."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme Corp")
    contract = await crm.import_contract(account, "2026-02-20T10:00:00Z", trial_end="2026-03-10")
    await crm.tick("2026-02-24")
    await crm.send(
        "contract.trial_started",
        "2026-06-01T09:00:00Z",
        {"contract_id": contract, "name": "Reporting module", "started_on": "2026-06-01"},
    )
    (trial,) = (await crm.client.get(f"/v1/contracts/{contract}/trials")).json()["items"]
    assert (trial["name"], trial["ends_on"]) == ("Reporting module", "2026-07-01")

    await crm.tick("2026-06-16")
    assert [t["due_date"] for t in await crm.tasks(kind="trial_ending")] == ["2026-03-03"]
    opened = await crm.tick("2026-06-17")

    assert opened.opened == 1
    own, addon = await crm.tasks(kind="trial_ending")
    assert (addon["due_date"], addon["status"]) == ("2026-06-24", "open")
    assert addon["title"] == "Trial of Reporting module at Acme Corp ends on 2026-07-01"
    assert_playbook(
        addon,
        "The trial of Reporting module ends on 2026-07-01",
        "Confirm the order or the quote for Reporting module",
        "without an order, Reporting module is blocked",
    )
    assert own["title"] == "Trial of Acme Corp ends on 2026-03-10"
    assert "Reporting module" not in own["description"]
    plan = (await crm.client.get(f"/v1/contracts/{contract}/checkpoints")).json()["items"]
    assert [(c["ordinal"], c["due_date"], c["opens_on"], c["status"])
            for c in plan if c["kind"] == "trial_ending"] == [
        (0, "2026-03-03", "2026-02-24", "opened"),
        (1, "2026-06-24", "2026-06-17", "opened"),
    ]  # fmt: skip
    await crm.tick_again_adds_nothing("2026-06-17")


async def test_a_trial_recorded_after_its_task_was_due_follows_the_skip_rule(
    api: Harness,
) -> None:
    """Recorded on 2026-08-01, a trial that ended on 2026-07-01 (due 2026-06-24, 38 days
    earlier) is skipped; one ending on 2026-08-10 (due 2026-08-03) opens at once."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme Corp")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    for name, started_on in [("Old modules", "2026-06-01"), ("More users", "2026-07-11")]:
        await crm.send(
            "contract.trial_started",
            "2026-08-01T09:00:00Z",
            {"contract_id": contract, "name": name, "started_on": started_on},
        )

    await crm.tick("2026-08-01")

    (task,) = await crm.tasks(kind="trial_ending")
    assert (task["due_date"], task["title"]) == (
        "2026-08-03",
        "Trial of More users at Acme Corp ends on 2026-08-10",
    )
    plan = (await crm.client.get(f"/v1/contracts/{contract}/checkpoints")).json()["items"]
    assert [(c["ordinal"], c["status"]) for c in plan if c["kind"] == "trial_ending"] == [
        (1, "skipped"),
        (2, "opened"),
    ]


async def test_the_brief_lists_what_was_learned_this_term_beside_the_open_tasks(
    api: Harness,
) -> None:
    """Three tasks opened, two marked done (one with an outcome, one without) and one
    dismissed: the brief lists the done ones, most recently closed first, dated today;
    the dismissed one is not among them, and the open ones stay where they were."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme Corp")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    await crm.tick("2026-06-06")
    tasks = await crm.tasks(contract_id=contract)
    assert [t["kind"] for t in tasks] == ["kickoff", "implementation_check", "adoption_review"]
    kickoff, check, review = tasks
    closings = [
        (check, {"status": "done", "outcome": "40 of 100 seats active; training booked"}),
        (kickoff, {"status": "done"}),
        (review, {"status": "dismissed", "outcome": "Merged into the mid-term review"}),
    ]
    for task, body in closings:
        response = await crm.client.patch(f"/v1/tasks/{task['id']}", json=body)
        assert response.status_code == 200, response.text
    today = datetime.now(UTC).date().isoformat()

    brief = (await crm.client.get(f"/v1/contracts/{contract}/brief")).json()
    page = (
        await crm.client.get(f"/v1/contracts/{contract}/brief", headers={"Accept": "text/markdown"})
    ).text

    assert brief["done_tasks"] == [
        {"id": kickoff["id"], "kind": "kickoff", "title": kickoff["title"],
         "closed_on": today, "outcome": None},
        {"id": check["id"], "kind": "implementation_check", "title": check["title"],
         "closed_on": today, "outcome": "40 of 100 seats active; training booked"},
    ]  # fmt: skip
    assert brief["open_tasks"] == []
    assert "## Done this term" in page
    assert f"| {today} | {check['title']} | 40 of 100 seats active; training booked |" in page
    assert f"| {today} | {kickoff['title']} | no outcome recorded |" in page
    assert "Merged into the mid-term review" not in page
    assert one(await crm.tasks(contract_id=contract), "adoption_review")["status"] == "dismissed"
