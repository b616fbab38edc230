"""The embedded engine end to end: REST calls (and `POST /v1/events` where the time of a
change must be controlled) against the in-process API, and `renewals tick --as-of D
--wait` against the same database, on SQLite and on Postgres — as a real process in the
scenarios that tick a few times (`Crm`), and as the same function in this process in
those that tick day by day through a term (`InProcessCrm`).

Only public interfaces are used: no ORM writes, no direct calls into the services. The
worker is `tick --wait` itself: it first applies the lifecycle events already waiting,
then sweeps the date, then applies what the sweep emitted. So a tick is also how a test
waits for the engine after REST calls, and several changes are usually applied together
in one tick, as a worker that fell behind would apply them.

A process tick costs an interpreter start-up (1-2 s), so every scenario runs as it can.

Choices where the spec leaves room, and how the scenarios are dated:

- Changes whose date matters are sent as CloudEvents with an explicit `time` (they apply
  exactly like the matching REST call), so the dates below are fixed and the import skip
  rule (checkpoints due more than 14 days before the change are `skipped`) is under
  control. Where a scenario uses plain REST calls (the renewal, health), its dates are
  relative to `date.today()`, because those calls are timed by the wall clock.
- Several contracts are "imported" late in their term (created on 2026-11-20) so their
  early checkpoints are skipped and the test only sees the tasks it is about.
- Stakeholder changes and usage reports are applied together, as a worker that fell
  behind (or a CRM pushing an account's history in one batch) would apply them, and must
  come out as if applied one by one. Goals are decided on the goal as stored when the
  event is applied (replaying an old event then changes nothing), so changes applied
  together converge on the latest status; that scenario ticks between its steps.
- The worked example (S = 2026-03-15, R = 2027-03-15, fiscal year from January, lead
  90 days, growth segment) gets a 20-day notice period, so that the renewal outreach has a
  notice deadline to name; it moves none of the worked example's dates (the outreach stays
  at R - 2 months because R - 20 - 30 days is later) and adds `notice_deadline` on
  2027-02-23.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.e2e.crm import Crm, InProcessCrm, assert_playbook, one, summary
from tests.support.api import Harness

pytestmark = pytest.mark.slow

# --- 1. the checkpoint plan, day by day --------------------------------------------------


async def test_worked_example_opens_each_checkpoint_task_on_its_opening_day(api: Harness) -> None:
    """Created (by event) two weeks before S, so nothing is skipped. Each tick on an
    opening date opens exactly that checkpoint's task, with the plan's due date; the
    checkpoints opening later are not opened by it. The first tick after R - 60 days
    (2027-01-14) moves the tasks still open up a priority step."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme Corp", budget_lead_days=90)
    await crm.send(
        "stakeholder.added",
        "2026-03-01T09:00:00Z",
        {
            "account_id": account,
            "name": "Bea Owner",
            "email": "bea@acme.example",
            "role": "business_owner",
        },
    )
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z", notice_period_days=20)

    schedule = [  # opens on, kind, due, priority
        ("2026-03-11", "kickoff", "2026-03-18", "normal"),
        ("2026-04-07", "implementation_check", "2026-04-14", "normal"),
        ("2026-06-06", "adoption_review", "2026-06-13", "normal"),
        ("2026-09-03", "budget_confirmation", "2026-10-03", "normal"),
        ("2026-09-06", "mid_term_review", "2026-09-13", "normal"),
        ("2027-01-01", "renewal_outreach", "2027-01-15", "normal"),
        ("2027-02-09", "notice_deadline", "2027-02-23", "high"),  # R is 34 days away
        ("2027-03-01", "renewal_due", "2027-03-01", "urgent"),
        ("2027-03-16", "renewal_overdue", "2027-03-16", "urgent"),
    ]
    expected: list[tuple[str, str, str, str]] = []
    for opens_on, kind, due, priority in schedule:
        result = await crm.tick(opens_on)
        assert result.opened == 1, (opens_on, result)
        if opens_on == "2027-02-09":
            expected = [(k, d, {"normal": "high"}.get(p, p), s) for k, d, p, s in expected]
        expected.append((kind, due, priority, "open"))
        assert summary(await crm.tasks(contract_id=contract)) == expected, opens_on

    tasks = await crm.tasks(contract_id=contract)
    assert {t["account_id"] for t in tasks} == {account}
    for task in tasks:
        assert_playbook(task, "12,000.00 USD", "2027-03-15", "Bea Owner")
    assert_playbook(
        one(tasks, "budget_confirmation"),
        "fiscal year starting 2027-01-01",
        "fixed by 2026-10-03",
    )
    outreach = one(tasks, "renewal_outreach")
    assert_playbook(outreach, "in-person meeting", "2027-02-23", "Contact Bea Owner")
    assert "book an in-person meeting" in outreach["title"]
    assert_playbook(one(tasks, "notice_deadline"), "2027-02-23")
    assert_playbook(one(tasks, "renewal_overdue"), "lapses on 2027-04-14")

    await crm.tick_again_adds_nothing("2027-03-16")


# --- 2. key stakeholder changes ---------------------------------------------------------


async def test_departed_business_owner_opens_one_task_that_folds_in_the_successor(
    api: Harness,
) -> None:
    """Two accounts with the worked example's contract (R = 2027-03-15). Their first
    business owner (added in April, after S) triggers nothing; the departure opens the task,
    urgent and due in 2 days when R is 120 days away (the boundary), normal and due in
    7 days when it is 121 days away; the successor, added the day after, is folded into
    the same task. All of it is applied in one tick, as a worker that fell behind would."""
    crm = Crm(api)
    cases = [  # departs on, successor added on, the task's due date and priority
        ("near", "2026-11-15", "2026-11-16", "2026-11-17", "urgent"),
        ("far", "2026-11-14", "2026-11-15", "2026-11-21", "normal"),
    ]
    accounts: dict[str, str] = {}
    for label, departs_on, successor_on, _, _ in cases:
        account = accounts[label] = await crm.account(f"Acme {label}")
        await crm.import_contract(account, "2026-03-01T10:00:00Z")
        await crm.send(
            "stakeholder.added",
            "2026-04-01T09:00:00Z",
            {
                "account_id": account,
                "name": f"Alice {label}",
                "email": f"alice@{label}.example",
                "role": "business_owner",
                "external_ids": {"crm": f"alice-{label}"},
            },
        )
        await crm.send(
            "stakeholder.added",
            "2026-04-01T09:00:00Z",
            {
                "account_id": account,
                "name": f"Carl {label}",
                "email": f"carl@{label}.example",
                "role": "champion",
            },
        )
        await crm.send(
            "stakeholder.departed",
            f"{departs_on}T10:00:00Z",
            {"external_ids": {"crm": f"alice-{label}"}},
        )
        await crm.send(
            "stakeholder.added",
            f"{successor_on}T10:00:00Z",
            {
                "account_id": account,
                "name": f"Bob {label}",
                "email": f"bob@{label}.example",
                "role": "business_owner",
            },
        )

    await crm.tick("2026-03-01")

    for label, departs_on, successor_on, due, priority in cases:
        tasks = await crm.tasks(account_id=accounts[label])
        assert summary(tasks) == [("stakeholder_change", due, priority, "open")], label
        (task,) = tasks
        assert task["title"] == f"Business owner change at Acme {label}: Alice {label}"
        assert_playbook(task, f"Meet Bob {label} (business owner now)", "2027-03-15")
        changes = task["description"].split("\n\nChanges:\n")[1].splitlines()
        assert changes == [  # the first owner's and the champion's arrival are no change
            f"- {departs_on}: Alice {label} (business owner) left.",
            f"- {successor_on}: Bob {label} was added as the new business owner.",
        ]

    await crm.tick_again_adds_nothing("2026-03-01")


# --- 3. usage ---------------------------------------------------------------------------


async def test_usage_reports_open_and_close_adoption_risk_and_find_expansion(
    api: Harness,
) -> None:
    """Reports over a term, applied together: one 26 days after S (not judged yet), one
    at 40% 30 days after S (adoption_risk), 55% (not recovered), 60% (auto-closed), a
    report with no seats (nothing), 92% (expansion) and 95% (no second expansion)."""
    crm = Crm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    reports = [(10, 100, "2026-04-10"), (40, 100, "2026-04-14"), (55, 100, "2026-05-01"),
               (60, 100, "2026-05-15"), (0, 0, "2026-06-01"), (92, 100, "2026-06-15"),
               (95, 100, "2026-07-01")]  # fmt: skip
    for active, seats, as_of in reports:
        await crm.send(
            "usage.reported",
            f"{as_of}T12:00:00Z",
            {"contract_id": contract, "active_users": active, "seats": seats, "as_of": as_of},
        )

    await crm.tick("2026-03-01")

    tasks = await crm.tasks(contract_id=contract)
    assert summary(tasks) == [
        ("adoption_risk", "2026-04-21", "normal", "auto_closed"),
        ("expansion_opportunity", "2026-06-29", "normal", "open"),
    ]
    risk, expansion = tasks  # due 7 and 14 days after the 40% and the 92% reports
    assert_playbook(risk, "40 of 100 seats active (40%)")
    assert risk["status_reason"] == "adoption recovered to 60% (60/100 on 2026-05-15)"
    assert_playbook(expansion, "92 of 100 seats active (92%)", "more seats")

    await crm.tick_again_adds_nothing("2026-03-01")


# --- 4. goals ---------------------------------------------------------------------------


async def test_goal_at_risk_opens_a_task_closed_when_back_on_track(api: Harness) -> None:
    """Goals created on track (REST) open nothing; one moves to at_risk, the other to
    missed: a task each; the first moves back on track: its task is auto-closed.

    The engine decides on the goal as stored when it applies the event (so a replayed
    old event changes nothing): changes applied together converge on the latest status,
    and a goal that went at risk and back before the worker applied either opens no task.
    So this scenario ticks after each step, as a running worker would apply them."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    goals = []
    for name in ("Cut onboarding time", "Weekly active teams"):
        response = await crm.client.post(
            f"/v1/contracts/{contract}/goals", json={"name": name, "target": "half"}
        )
        assert response.status_code == 201, response.text
        goals.append(response.json()["id"])
    await crm.tick("2026-03-01")
    assert await crm.tasks(contract_id=contract) == []

    await crm.send("goal.updated", "2026-05-01T10:00:00Z", {"id": goals[0], "status": "at_risk"})
    await crm.send("goal.updated", "2026-05-02T10:00:00Z", {"id": goals[1], "status": "missed"})
    await crm.tick("2026-03-01")
    assert summary(await crm.tasks(contract_id=contract)) == [
        ("goal_at_risk", "2026-05-08", "normal", "open"),
        ("goal_at_risk", "2026-05-09", "normal", "open"),
    ]

    await crm.send("goal.updated", "2026-05-20T10:00:00Z", {"id": goals[0], "status": "on_track"})
    await crm.tick("2026-03-01")

    tasks = await crm.tasks(contract_id=contract)
    assert summary(tasks) == [
        ("goal_at_risk", "2026-05-08", "normal", "auto_closed"),
        ("goal_at_risk", "2026-05-09", "normal", "open"),
    ]
    recovered, missed = tasks
    assert_playbook(recovered, "Goal 'Cut onboarding time' is at_risk")
    assert recovered["status_reason"] == "the goal 'Cut onboarding time' is on track again"
    assert_playbook(missed, "Goal 'Weekly active teams' is missed")
    assert missed["status_reason"] is None

    await crm.tick_again_adds_nothing("2026-03-01")


# --- 5. cancellation notices ------------------------------------------------------------


async def test_cancellation_notice_opens_a_save_attempt_and_churns_at_renewal(
    api: Harness,
) -> None:
    """Two contracts imported on 2026-11-20 (R = 2027-03-15) receive a notice that day;
    one notice is withdrawn the next day. The tick at R opens both contracts' outreach
    and renewal_due checkpoints and churns the first; the engine applies the churn's
    checkpoints after the churn (the sweep does all its work before --wait applies it),
    so they open no task on the churned contract."""
    crm = Crm(api)
    contracts: dict[str, str] = {}
    for label, reason in (("kept", "price"), ("withdrawn", "competitor")):
        account = await crm.account(f"Acme {label}")
        contracts[label] = await crm.import_contract(account, "2026-11-20T09:00:00Z")
        await crm.send(
            "contract.cancellation_noticed",
            "2026-11-20T10:00:00Z",
            {"id": contracts[label], "received_on": "2026-11-20", "reason": reason},
        )
    await crm.send(
        "contract.cancellation_withdrawn", "2026-11-21T10:00:00Z", {"id": contracts["withdrawn"]}
    )

    assert (await crm.tick("2026-11-20")).opened == 0
    noticed = await crm.tasks(contract_id=contracts["kept"])
    assert summary(noticed) == [("save_attempt", "2026-11-23", "urgent", "open")]
    assert_playbook(noticed[0], "churns on 2027-03-15", "within three days")
    withdrawn = await crm.tasks(contract_id=contracts["withdrawn"])
    assert summary(withdrawn) == [("save_attempt", "2026-11-23", "urgent", "auto_closed")]
    assert withdrawn[0]["status_reason"] == "the cancellation notice was withdrawn"

    at_renewal = await crm.tick("2027-03-15")  # opens outreach and renewal_due of both

    assert (at_renewal.opened, at_renewal.churned) == (4, 1)
    churned = await crm.contract(contracts["kept"])
    assert (churned["status"], churned["churned_on"], churned["churn_reason"]) == (
        "churned",
        "2027-03-15",
        "price",
    )
    tasks = await crm.tasks(contract_id=contracts["kept"])
    assert [(t["kind"], t["status"], t["status_reason"]) for t in tasks] == [
        ("save_attempt", "auto_closed", "contract churned on 2027-03-15 (price)")
    ]
    kept = await crm.contract(contracts["withdrawn"])
    assert (kept["status"], kept["term"], kept["cancellation_notice"]) == ("active", 1, None)
    assert summary(await crm.tasks(contract_id=contracts["withdrawn"])) == [
        ("save_attempt", "2026-11-23", "urgent", "auto_closed"),
        ("renewal_outreach", "2027-01-15", "high", "open"),
        ("renewal_due", "2027-03-01", "urgent", "open"),
    ]

    await crm.tick_again_adds_nothing("2027-03-15")


# --- 6. renewal -------------------------------------------------------------------------


async def test_renewal_closes_old_renewal_tasks_and_plans_the_next_term(api: Harness) -> None:
    """`POST /renew` is timed by the wall clock, so the dates are relative to today:
    R = today + 10 days, the contract imported 75 days before R (only the outreach and
    the renewal-date checkpoints are still planned; the budget date, FYS(R) - 90 with a
    fiscal year starting in R's month, is more than 14 days past), both opened by a tick
    at R - 14 days, then renewed today."""
    crm = Crm(api)
    renewal = date.today() + timedelta(days=10)
    start = renewal - timedelta(days=365)
    account = await crm.account("Acme", fiscal_year_start_month=renewal.month)
    contract = await crm.import_contract(
        account,
        f"{renewal - timedelta(days=75)}T10:00:00Z",
        start_date=str(start),
        end_date=str(renewal),
    )

    assert (await crm.tick(renewal - timedelta(days=14))).opened == 2
    before = await crm.tasks(contract_id=contract)
    assert [(t["kind"], t["status"]) for t in before] == [
        ("renewal_outreach", "open"),
        ("renewal_due", "open"),
    ]

    new_end = renewal + timedelta(days=365)
    response = await crm.client.post(
        f"/v1/contracts/{contract}/renew", json={"end_date": str(new_end), "arr": "15000"}
    )
    assert response.status_code == 200, response.text
    kickoff_opens = renewal + timedelta(days=3 - 7)
    assert (await crm.tick(kickoff_opens)).opened == 1

    tasks = await crm.tasks(contract_id=contract)
    reason = f"renewed: term 2 runs {renewal} to {new_end}"
    assert [(t["kind"], t["status"], t["status_reason"]) for t in tasks] == [
        ("renewal_outreach", "auto_closed", reason),
        ("renewal_due", "auto_closed", reason),
        ("kickoff", "open", None),
    ]
    kickoff = tasks[2]
    assert (kickoff["due_date"], kickoff["priority"]) == (
        str(renewal + timedelta(days=3)),
        "normal",
    )
    assert kickoff["title"] == "Term 2 kickoff with Acme"
    assert_playbook(kickoff, f"Term 2 started on {renewal}", "15,000.00 USD", str(new_end))
    read = await crm.contract(contract)
    assert read["term"] == 2
    assert read["terms"][1] == {
        "number": 2,
        "start": str(renewal),
        "end": str(new_end),
        "arr": "15000.00",
    }

    await crm.tick_again_adds_nothing(kickoff_opens)


# --- 7. auto-renewal --------------------------------------------------------------------


async def test_auto_renewing_contract_renews_at_r_for_the_same_length_and_arr(
    api: Harness,
) -> None:
    """Imported on 2026-11-20 with `auto_renew`. The tick at R opens the outreach, the
    auto_renewal_confirmation and the auto_renewal checkpoints, renews, then sweeps R again
    for term 2's plan, whose kickoff opened on R - 4 days. The term-1 tasks describe term 1
    although the engine applies them after the renewal, and the renewal auto-closes them:
    the spec closes the old term's renewal tasks. The auto_renewal checkpoint renews and
    opens no task: nobody would have anything to do."""
    crm = Crm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-11-20T10:00:00Z", auto_renew=True)

    result = await crm.tick("2027-03-15")

    assert result.renewed == 1
    read = await crm.contract(contract)
    assert (read["status"], read["term"], read["end_date"], read["arr"]) == (
        "active",
        2,
        "2028-03-15",
        "12000.00",
    )
    assert read["terms"] == [
        {"number": 1, "start": "2026-03-15", "end": "2027-03-15", "arr": "12000.00"},
        {"number": 2, "start": "2027-03-15", "end": "2028-03-15", "arr": "12000.00"},
    ]
    tasks = await crm.tasks(contract_id=contract)
    reason = "renewed: term 2 runs 2027-03-15 to 2028-03-15"
    assert [(t["kind"], t["due_date"], t["status"], t["status_reason"]) for t in tasks] == [
        ("renewal_outreach", "2027-01-15", "auto_closed", reason),
        ("auto_renewal_confirmation", "2027-03-01", "auto_closed", reason),
        ("kickoff", "2027-03-18", "open", None),
    ]
    outreach, confirmation, kickoff = tasks
    for task in (outreach, confirmation):
        assert_playbook(task, "Term 1: 2026-03-15 to 2027-03-15 (renews automatically)")
    assert confirmation["title"] == "Confirm the automatic renewal of Acme on 2027-03-15"
    assert kickoff["title"] == "Term 2 kickoff with Acme"
    assert_playbook(kickoff, "Term 2: 2027-03-15 to 2028-03-15")

    await crm.tick_again_adds_nothing("2027-03-15")


# --- 8. churn ---------------------------------------------------------------------------


async def test_churn_closes_open_tasks_and_plans_a_winback_unless_business_closed(
    api: Harness,
) -> None:
    """Two worked-example contracts churn on 2026-04-20 with their kickoff and
    implementation tasks open; the winback is due 6 months later and opens 14 days
    before, only for the one that did not churn because the business closed."""
    crm = InProcessCrm(api)
    contracts: dict[str, str] = {}
    for reason in ("competitor", "business_closed"):
        account = await crm.account(f"Acme {reason}")
        contracts[reason] = await crm.import_contract(account, "2026-03-01T10:00:00Z")

    assert (await crm.tick("2026-04-07")).opened == 4
    for reason, contract in contracts.items():
        await crm.send(
            "contract.churned",
            "2026-04-20T10:00:00Z",
            {"id": contract, "reason": reason, "churned_on": "2026-04-20"},
        )

    assert (await crm.tick("2026-10-05")).opened == 0  # the day before the winback opens
    for reason, contract in contracts.items():
        read = await crm.contract(contract)
        assert (read["status"], read["churned_on"], read["churn_reason"]) == (
            "churned",
            "2026-04-20",
            reason,
        )
        tasks = await crm.tasks(contract_id=contract)
        assert [(t["kind"], t["status"], t["status_reason"]) for t in tasks] == [
            (kind, "auto_closed", f"contract churned on 2026-04-20 ({reason})")
            for kind in ("kickoff", "implementation_check")
        ]

    assert (await crm.tick("2026-10-06")).opened == 1
    winback = await crm.tasks(kind="winback")
    assert summary(winback) == [("winback", "2026-10-20", "normal", "open")]
    assert winback[0]["contract_id"] == contracts["competitor"]
    assert_playbook(winback[0], "reason: competitor")
    assert await crm.tasks(contract_id=contracts["business_closed"], status="open") == []

    await crm.tick_again_adds_nothing("2026-10-06")


# --- 9. health --------------------------------------------------------------------------


async def test_health_shows_its_signals_and_filters_contracts_by_band(api: Harness) -> None:
    """Plain REST calls, timed by the wall clock, on contracts that started 60 days ago
    (their kickoff and implementation check are more than 14 days past: skipped, so a
    tick today opens nothing). Account A's business owner departs; A1 reports 30% usage
    (yellow: 100 - 30 - 25), A2 20% and a missed goal (red: 100 - 30 - 25 - 20);
    account B's contract stays green."""
    crm = Crm(api)
    today = date.today()
    start = today - timedelta(days=60)
    dates = {"start_date": str(start), "end_date": str(start + timedelta(days=365))}
    a, b = await crm.account("Acme"), await crm.account("Beta")
    contracts = {}
    for name, account in (("a1", a), ("a2", a), ("b1", b)):
        # 9,000 each: account A stays growth, so no implementation follow-up opens.
        body = {"account_id": account, "arr": "9000", "seats": 100} | dates
        response = await crm.client.post("/v1/contracts", json=body)
        assert response.status_code == 201, response.text
        contracts[name] = response.json()["id"]
    owner = await crm.client.post(
        f"/v1/accounts/{a}/stakeholders",
        json={"name": "Dana Owner", "email": "dana@acme.example", "role": "business_owner"},
    )
    assert owner.status_code == 201, owner.text
    departed = await crm.client.patch(
        f"/v1/stakeholders/{owner.json()['id']}", json={"status": "departed"}
    )
    assert departed.status_code == 200, departed.text
    for name, active in (("a1", 30), ("a2", 20)):
        response = await crm.client.post(
            f"/v1/contracts/{contracts[name]}/usage",
            json={"active_users": active, "seats": 100, "as_of": str(today)},
        )
        assert response.status_code == 201, response.text
    goal = await crm.client.post(
        f"/v1/contracts/{contracts['a2']}/goals",
        json={"name": "Faster quotes", "target": "2 days", "status": "missed"},
    )
    assert goal.status_code == 201, goal.text

    assert (await crm.tick(today)).opened == 0

    health = {name: (await crm.contract(c))["health"] for name, c in contracts.items()}
    lost, low, goal_signal = (
        {"signal": "key_stakeholder_lost", "points": -30},
        {"signal": "low_adoption", "points": -25},
        {"signal": "goal_at_risk", "points": -20},
    )
    assert health == {
        "a1": {"score": 45, "band": "yellow", "signals": [lost, low]},
        "a2": {"score": 25, "band": "red", "signals": [lost, low, goal_signal]},
        "b1": {"score": 100, "band": "green", "signals": []},
    }
    for band, names in (("red", ["a2"]), ("yellow", ["a1"]), ("green", ["b1"])):
        response = await crm.client.get("/v1/contracts", params={"health": band})
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["items"]] == [contracts[n] for n in names]
    week = str(today + timedelta(days=7))
    assert sorted(summary(await crm.tasks(account_id=a))) == [
        ("adoption_risk", week, "normal", "open"),
        ("adoption_risk", week, "normal", "open"),
        ("goal_at_risk", week, "normal", "open"),
        ("stakeholder_change", week, "normal", "open"),
    ]
    assert await crm.tasks(account_id=b) == []

    await crm.tick_again_adds_nothing(today)
