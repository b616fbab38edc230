"""Time alone changes what an account manager sees, through the public API on SQLite and
Postgres: `renewals tick --as-of D --wait` (in this process) is the only thing that
happens between the checks.

- health follows the calendar: a task passing 14 days overdue, and R - 60 days with the
  outreach not done, change the score; a change of band is notified
  (`contract.health_changed`);
- open tasks move up a priority step at R - 60 days (`task.updated`);
- a contract already red escalates when R comes within 90 days;
- a late cancellation notice does not churn the contract at R.

The contracts are the worked example's (S = 2026-03-15, R = 2027-03-15, growth: tasks
`normal`), so R - 90 days is 2026-12-15 and R - 60 days 2027-01-14.
"""

from __future__ import annotations

from tests.e2e.crm import InProcessCrm, one, summary
from tests.support.api import Harness


async def health(crm: InProcessCrm, contract: str) -> tuple[int, str, list[str]]:
    read = (await crm.contract(contract))["health"]
    return read["score"], read["band"], [s["signal"] for s in read["signals"]]


async def test_health_and_priorities_follow_the_calendar(api: Harness) -> None:
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")

    await crm.tick("2026-03-11")  # the kickoff task, due 2026-03-18, is never done
    await crm.tick("2026-04-01")
    assert await health(crm, contract) == (100, "green", [])
    noted = await crm.tick("2026-04-02")  # 15 days overdue
    assert noted.opened == 0
    assert await health(crm, contract) == (90, "green", ["overdue_tasks"])

    goal = {"contract_id": contract, "name": "Cut onboarding time", "target": "half"}
    await crm.send("goal.created", "2026-11-01T10:00:00Z", goal | {"status": "at_risk"})
    await crm.tick("2026-11-01")
    capacity = await crm.client.get("/v1/reports/capacity", params={"as_of": "2026-11-01"})
    # Opening by 2027-01-24: the renewal outreach; the markers of 12-15 and 01-14 are no work.
    assert [item["upcoming_tasks"] for item in capacity.json()["items"]] == [1]

    await crm.tick("2027-01-01")  # the checkpoints opening since, R - 90 days (green)
    assert await health(crm, contract) == (70, "green", ["goal_at_risk", "overdue_tasks"])
    assert {t["priority"] for t in await crm.tasks(contract_id=contract)} == {"normal"}

    near = await crm.tick("2027-01-14")
    assert near.opened == 0
    assert await health(crm, contract) == (
        55,
        "yellow",
        ["goal_at_risk", "outreach_not_done", "overdue_tasks"],
    )
    tasks = await crm.tasks(contract_id=contract)
    assert summary(tasks) == [
        ("kickoff", "2026-03-18", "high", "open"),
        ("goal_at_risk", "2026-11-08", "high", "open"),
        ("implementation_check", "2026-04-14", "high", "open"),
        ("adoption_review", "2026-06-13", "high", "open"),
        ("budget_confirmation", "2026-10-03", "high", "open"),
        ("mid_term_review", "2026-09-13", "high", "open"),
        ("renewal_outreach", "2027-01-15", "high", "open"),
    ]
    at_r_minus_60 = "2027-01-14T00:00:00+00:00"
    raised = [
        e["data"]
        for e in await api.events("task.updated")
        if e["time"] == at_r_minus_60 and e["data"]["contract_id"] == contract
    ]
    assert sorted((t["kind"], t["priority"]) for t in raised) == sorted(
        (t["kind"], "high") for t in tasks
    )
    (changed,) = [
        e["data"]
        for e in await api.events("contract.health_changed")
        if e["data"]["contract_id"] == contract
    ]
    assert (changed["old"], changed["new"]["band"]) == ({"score": 70, "band": "green"}, "yellow")
    assert [e["time"] for e in await api.events("contract.health_changed")] == [at_r_minus_60]

    plan = await crm.client.get(f"/v1/contracts/{contract}/checkpoints")
    assert not {c["kind"] for c in plan.json()["items"]} & {"renewal_window", "renewal_near"}
    timeline = await crm.client.get(f"/v1/contracts/{contract}/timeline", params={"limit": 500})
    lines = [item["summary"] for item in timeline.json()["items"]]
    assert "Task more than 14 days overdue (due 2026-03-18)" in lines
    assert "Renewal 90 days away: a red contract escalates now" in lines
    assert "Renewal 60 days away: open tasks move up a priority step" in lines

    await crm.tick_again_adds_nothing("2027-01-14")


async def test_a_red_contract_escalates_when_r_comes_within_90_days(api: Harness) -> None:
    """Red since October (a cancellation notice, a missed goal, 10% adoption: 25), long
    before the window: the at-risk task comes with R - 90 days, once."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-09-30T10:00:00Z")
    at = "2026-10-01T10:00:00Z"
    await crm.send(
        "contract.cancellation_noticed", at, {"id": contract, "received_on": "2026-10-01"}
    )
    goal = {"contract_id": contract, "name": "Weekly active teams", "target": "all"}
    await crm.send("goal.created", at, goal | {"status": "missed"})
    usage = {"contract_id": contract, "active_users": 10, "seats": 100, "as_of": "2026-10-01"}
    await crm.send("usage.reported", at, usage)

    await crm.tick("2026-12-14")  # R is 91 days away
    assert (await health(crm, contract))[:2] == (15, "red")
    assert [
        t for t in await crm.tasks(contract_id=contract) if t["kind"] == "renewal_at_risk"
    ] == []

    await crm.tick("2026-12-15")
    risk = one(await crm.tasks(contract_id=contract), "renewal_at_risk")
    assert (risk["priority"], risk["due_date"], risk["status"]) == ("urgent", "2026-12-17", "open")

    await crm.tick_again_adds_nothing("2026-12-15")
    await crm.tick("2027-01-14")
    kinds = [t["kind"] for t in await crm.tasks(contract_id=contract)]
    assert kinds.count("renewal_at_risk") == 1


async def test_a_late_notice_does_not_churn_the_contract_at_r(api: Harness) -> None:
    """A 30-day notice period: the deadline is 2027-02-13. The late notice on an
    auto-renewing contract lets it renew at R; on a contract renewed by hand, its renewal
    is still due; the notice given in time churns its contract at R."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    terms = {"notice_period_days": 30}
    late = await crm.import_contract(account, "2026-09-30T10:00:00Z", auto_renew=True, **terms)
    by_hand = await crm.import_contract(account, "2026-09-30T10:00:00Z", **terms)
    in_time = await crm.import_contract(account, "2026-09-30T10:00:00Z", auto_renew=True, **terms)
    for contract, received_on in (
        (late, "2027-02-20"),
        (by_hand, "2027-02-20"),
        (in_time, "2027-02-10"),
    ):
        await crm.send(
            "contract.cancellation_noticed",
            f"{received_on}T09:00:00Z",
            {"id": contract, "received_on": received_on, "reason": "price"},
        )
    assert [
        (await crm.contract(c))["cancellation_notice"]["late"] for c in (late, by_hand, in_time)
    ] == [True, True, False]

    await crm.tick("2027-02-20")
    save = one(await crm.tasks(contract_id=late), "save_attempt")
    assert (save["priority"], save["due_date"]) == ("urgent", "2027-02-23")
    assert save["title"] == "Save Acme: late cancellation notice received"
    assert (
        "The customer gave notice on 2027-02-20, after the notice deadline of 2027-02-13. "
        "By the contract's terms it comes too late to stop the renewal on 2027-03-15: the "
        "contract renews automatically, unless you accept the cancellation (record the "
        "churn) or the customer withdraws the notice." in save["description"]
    )
    by_hand_save = one(await crm.tasks(contract_id=by_hand), "save_attempt")
    assert "2027-03-15: record the renewal, unless" in by_hand_save["description"]
    assert (
        "churns on 2027-03-15"
        in one(await crm.tasks(contract_id=in_time), "save_attempt")["description"]
    )

    at_r = await crm.tick("2027-03-15")
    assert (at_r.renewed, at_r.churned) == (1, 1)
    renewed = await crm.contract(late)
    assert (renewed["status"], renewed["term"], renewed["end_date"]) == ("active", 2, "2028-03-15")
    assert renewed["cancellation_notice"] is None
    closed = one(await crm.tasks(contract_id=late), "save_attempt")
    assert closed["status"] == "auto_closed"
    assert (await crm.contract(in_time))["status"] == "churned"

    await crm.tick("2027-03-16")
    still = await crm.contract(by_hand)
    assert (still["status"], still["cancellation_notice"]["late"]) == ("active", True)
    overdue = one(await crm.tasks(contract_id=by_hand), "renewal_overdue")
    assert (overdue["status"], overdue["priority"]) == ("open", "urgent")
