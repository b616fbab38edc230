"""Event rules of DESIGN §3.2 on hand-built facts."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import (
    GoalFacts,
    StakeholderFacts,
    Term,
    UsageFacts,
)
from tests.renewal_worker.engine.facts import (
    SETTINGS,
    account,
    applied,
    contract,
    d,
    event,
    is_empty,
    run,
)

CREATED = {"id": "c1", "account_id": "a1"}


def statuses(facts, term=1):  # type: ignore[no-untyped-def]
    return {cp.kind: cp.status for cp in facts.checkpoints if cp.term == term}


def open_kinds(facts):  # type: ignore[no-untyped-def]
    return sorted(t.kind for t in facts.tasks if t.status == "open")


def due(facts, kind):  # type: ignore[no-untyped-def]
    return next(t.due_date for t in facts.tasks if t.kind == kind and t.status == "open")


def opened(facts, kind, ordinal=0, term=1):  # type: ignore[no-untyped-def]
    """What the scheduler does when a checkpoint's opening date comes."""
    cp = next(
        c for c in facts.checkpoints if c.kind == kind and c.ordinal == ordinal and c.term == term
    )
    facts = replace(
        facts,
        checkpoints=tuple(replace(c, status="opened") if c is cp else c for c in facts.checkpoints),
    )
    data = {
        "contract_id": cp.contract_id,
        "account_id": "a1",
        "term": cp.term,
        "kind": cp.kind,
        "ordinal": cp.ordinal,
    }
    return run(facts, event("checkpoint.due", str(cp.opens_on), data, eid=f"due-{kind}"))


def test_contract_created_plans_the_worked_example() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    plan = {cp.kind: cp.due_date for cp in facts.checkpoints}
    assert plan == {
        "kickoff": d("2026-03-18"),
        "implementation_check": d("2026-04-14"),
        "adoption_review": d("2026-06-13"),
        "mid_term_review": d("2026-09-13"),
        "budget_confirmation": d("2026-10-03"),
        "renewal_outreach": d("2027-01-15"),
        "renewal_due": d("2027-03-01"),
        "renewal_overdue": d("2027-03-16"),
        "renewal_window": d("2026-12-15"),  # markers: R - 90 and R - 60 days, no task
        "renewal_near": d("2027-01-14"),
    }
    assert set(statuses(facts).values()) == {"planned"}


def test_imported_contract_skips_checkpoints_due_more_than_14_days_before() -> None:
    facts = run(account(contract()), event("contract.created", "2026-10-10", CREATED))
    found = statuses(facts)
    assert found["kickoff"] == found["mid_term_review"] == "skipped"
    assert found["budget_confirmation"] == "planned"  # 7 days ago: still worth doing
    assert found["renewal_outreach"] == "planned"


def test_checkpoint_due_opens_one_task_and_a_second_delivery_opens_none() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    facts = opened(facts, "kickoff")
    assert open_kinds(facts) == ["kickoff"]
    task = facts.tasks[0]
    assert task.due_date == d("2026-03-18")
    again = decide(
        facts,
        event(
            "checkpoint.due",
            "2026-03-11",
            {"contract_id": "c1", "account_id": "a1", "term": 1, "kind": "kickoff", "ordinal": 0},
            eid="other",
        ),
        SETTINGS,
    )
    assert again.new_tasks == []


def test_redating_moves_planned_checkpoints_and_open_tasks_but_not_done_tasks() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    facts = opened(facts, "kickoff")
    facts = opened(facts, "implementation_check")
    done_key = next(t.dedupe_key for t in facts.tasks if t.kind == "kickoff")
    facts = replace(
        facts,
        tasks=tuple(
            replace(t, status="done") if t.dedupe_key == done_key else t for t in facts.tasks
        ),
    )
    moved = replace(
        facts.contracts[0],
        start_date=d("2026-03-20"),
        terms=(Term(1, d("2026-03-20"), d("2027-03-20"), Decimal(12000)),),
    )
    facts = run(
        replace(facts, contracts=(moved,)),
        event("contract.updated", "2026-03-12", CREATED, eid="e2"),
    )
    assert due(facts, "implementation_check") == d("2026-04-19")
    assert next(t for t in facts.tasks if t.kind == "kickoff").due_date == d("2026-03-18")
    assert next(cp for cp in facts.checkpoints if cp.kind == "renewal_due").due_date == d(
        "2027-03-06"
    )


def test_renewal_closes_old_renewal_tasks_and_plans_the_new_term() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    facts = opened(facts, "renewal_outreach")
    facts = opened(facts, "mid_term_review")
    renewed = replace(
        facts.contracts[0],
        terms=(
            *facts.contracts[0].terms,
            Term(2, d("2027-03-15"), d("2028-03-15"), Decimal(15000)),
        ),
    )
    facts = run(
        replace(facts, contracts=(renewed,)),
        event("contract.renewed", "2027-02-01", CREATED, eid="e3"),
    )
    outreach = next(t for t in facts.tasks if t.kind == "renewal_outreach")
    assert outreach.status == "auto_closed"
    assert next(t for t in facts.tasks if t.kind == "mid_term_review").status == "open"
    assert statuses(facts, term=1)["renewal_due"] == "cancelled"
    assert statuses(facts, term=2)["kickoff"] == "planned"
    assert "implementation_check" not in statuses(facts, term=2)


def test_a_checkpoint_applied_after_an_auto_renewal_describes_its_own_term() -> None:
    """A sweep at R that opens a late checkpoint renews in the same go, so the engine
    applies the checkpoint when the contract is already in term 2."""
    auto = contract(auto_renew=True)
    facts = run(account(auto), event("contract.created", "2026-03-01", CREATED))
    renewed = replace(
        facts.contracts[0],
        terms=(*auto.terms, Term(2, d("2027-03-15"), d("2028-03-15"), Decimal(15000))),
    )
    facts = opened(replace(facts, contracts=(renewed,)), "auto_renewal_confirmation")
    task = next(t for t in facts.tasks if t.kind == "auto_renewal_confirmation")
    assert task.term == 1
    assert "Term 1: 2026-03-15 to 2027-03-15" in task.description
    assert "12,000.00 USD" in task.description


def test_churn_closes_tasks_cancels_later_checkpoints_and_plans_a_winback() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    facts = opened(facts, "kickoff")
    churned = replace(facts.contracts[0], churned_on=d("2026-05-01"), churn_reason="price")
    facts = run(
        replace(facts, contracts=(churned,)),
        event("contract.churned", "2026-05-01", CREATED, eid="e4"),
    )
    assert open_kinds(facts) == []
    found = statuses(facts)
    assert found["renewal_due"] == "cancelled"
    assert found["winback"] == "planned"
    assert next(cp for cp in facts.checkpoints if cp.kind == "winback").due_date == d("2026-11-01")


def test_business_closed_churn_plans_no_winback() -> None:
    churned = contract(churned_on=d("2026-05-01"), churn_reason="business_closed")
    facts = run(account(churned), event("contract.churned", "2026-05-01", CREATED))
    assert "winback" not in statuses(facts)


def test_departed_business_owner_creates_urgent_task_near_renewal() -> None:
    people = (StakeholderFacts("s1", "Ada Owner", "business_owner", "departed"),)
    facts = account(contract(), stakeholders=people)
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
    facts = run(facts, event("stakeholder.departed", "2026-12-01", data))
    task = next(t for t in facts.tasks if t.kind == "stakeholder_change")
    assert task.due_date == d("2026-12-03")
    decision = decide(
        account(contract(), stakeholders=people),
        event("stakeholder.departed", "2026-12-01", data),
        SETTINGS,
    )
    assert decision.new_tasks[0].priority == "urgent"
    assert "Ada Owner" in task.description


def test_departure_far_from_renewal_is_due_in_a_week_with_table_priority() -> None:
    people = (StakeholderFacts("s1", "Ada", "champion", "departed"),)
    data = {"id": "s1", "account_id": "a1", "role": "champion", "status": "departed"}
    decision = decide(
        account(contract(), stakeholders=people),
        event("stakeholder.departed", "2026-05-01", data),
        SETTINGS,
    )
    assert decision.new_tasks[0].due_date == d("2026-05-08")
    assert decision.new_tasks[0].priority == "normal"


def test_successor_is_folded_into_the_open_stakeholder_task() -> None:
    people = (
        StakeholderFacts("s1", "Ada", "business_owner", "departed"),
        StakeholderFacts("s2", "Grace", "business_owner", "active"),
    )
    facts = account(contract(), stakeholders=people)
    facts = run(
        facts,
        event(
            "stakeholder.departed",
            "2026-05-01",
            {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"},
        ),
        event(
            "stakeholder.added",
            "2026-05-03",
            {"id": "s2", "account_id": "a1", "role": "business_owner", "status": "active"},
            eid="e2",
        ),
    )
    tasks = [t for t in facts.tasks if t.kind == "stakeholder_change"]
    assert len(tasks) == 1
    assert "Grace was added as the new business owner" in tasks[0].description


def test_first_business_owner_triggers_nothing() -> None:
    people = (StakeholderFacts("s1", "Ada", "business_owner", "active"),)
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "active"}
    decision = decide(
        account(contract(), stakeholders=people),
        event("stakeholder.added", "2026-05-01", data),
        SETTINGS,
    )
    assert decision.new_tasks == []


def test_an_owner_added_later_does_not_make_the_first_one_a_successor() -> None:
    """A worker catching up on a backlog already sees the owners added after the event.
    The second one, added while the first is active, is a co-owner: no change either."""
    people = (
        StakeholderFacts("s1", "Ada", "business_owner", "active"),
        StakeholderFacts("s2", "Grace", "business_owner", "active"),
    )
    facts = account(contract(), stakeholders=people)
    first = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "active"}
    assert decide(facts, event("stakeholder.added", "2026-05-01", first), SETTINGS).new_tasks == []
    second = {**first, "id": "s2"}
    decision = decide(facts, event("stakeholder.added", "2026-05-02", second, "e2"), SETTINGS)
    assert decision.new_tasks == []


def test_role_change_away_from_key_role_is_a_change() -> None:
    people = (StakeholderFacts("s1", "Ada", "user", "active"),)
    data = {
        "id": "s1",
        "account_id": "a1",
        "role": "user",
        "status": "active",
        "previous": {"role": "champion", "status": "active"},
    }
    decision = decide(
        account(contract(), stakeholders=people),
        event("stakeholder.updated", "2026-05-01", data),
        SETTINGS,
    )
    assert [t.kind for t in decision.new_tasks] == ["stakeholder_change"]


def usage(active: int, seats: int, as_of: str) -> dict[str, UsageFacts]:
    return {"c1": UsageFacts("c1", active, seats, d(as_of))}


def test_low_adoption_opens_one_task_and_recovery_closes_it() -> None:
    base = account(contract())
    ev = {"contract_id": "c1", "account_id": "a1"}
    facts = run(
        replace(base, latest_usage=usage(4, 10, "2026-05-01")),
        event("usage.reported", "2026-05-01", ev),
    )
    assert open_kinds(facts) == ["adoption_risk"]
    facts = run(
        replace(facts, latest_usage=usage(3, 10, "2026-05-15")),
        event("usage.reported", "2026-05-15", ev, eid="e2"),
    )
    assert open_kinds(facts) == ["adoption_risk"]
    facts = run(
        replace(facts, latest_usage=usage(55, 100, "2026-06-01")),
        event("usage.reported", "2026-06-01", ev, eid="e3"),
    )
    assert open_kinds(facts) == ["adoption_risk"], "0.55 is between the thresholds: no change"
    recovered = replace(facts, latest_usage=usage(6, 10, "2026-06-15"))
    decision = decide(recovered, event("usage.reported", "2026-06-15", ev, eid="e4"), SETTINGS)
    assert [(c.status, c.status_reason) for c in decision.task_changes] == [
        ("auto_closed", "adoption recovered to 60% (6/10 on 2026-06-15)")
    ]
    assert open_kinds(applied(recovered, decision)) == []


def test_adoption_is_not_judged_in_the_first_30_days_nor_with_zero_seats() -> None:
    ev = {"contract_id": "c1", "account_id": "a1"}
    early = decide(
        replace(account(contract()), latest_usage=usage(1, 10, "2026-04-13")),
        event("usage.reported", "2026-04-13", ev),
        SETTINGS,
    )
    assert early.new_tasks == []
    zero = decide(
        replace(account(contract()), latest_usage=usage(0, 0, "2026-06-13")),
        event("usage.reported", "2026-06-13", ev),
        SETTINGS,
    )
    assert zero.new_tasks == []


def test_high_adoption_is_an_expansion_opportunity_once_per_term() -> None:
    ev = {"contract_id": "c1", "account_id": "a1"}
    facts = run(
        replace(account(contract()), latest_usage=usage(95, 100, "2026-04-01")),
        event("usage.reported", "2026-04-01", ev),
    )
    facts = run(facts, event("usage.reported", "2026-05-01", ev, eid="e2"))
    assert [t.kind for t in facts.tasks] == ["expansion_opportunity"]


def test_goal_at_risk_opens_a_task_closed_when_back_on_track() -> None:
    goal = GoalFacts("g1", "c1", "Cut onboarding time", "at_risk")
    facts = account(contract(), goals=(goal,))
    data = {
        "id": "g1",
        "contract_id": "c1",
        "account_id": "a1",
        "name": goal.name,
        "status": "at_risk",
    }
    facts = run(facts, event("goal.updated", "2026-05-01", data))
    assert open_kinds(facts) == ["goal_at_risk"]
    facts = replace(facts, goals=(replace(goal, status="on_track"),))
    facts = run(
        facts, event("goal.updated", "2026-05-20", {**data, "status": "on_track"}, eid="e2")
    )
    assert open_kinds(facts) == []
    closed = next(t for t in facts.tasks if t.kind == "goal_at_risk")
    assert closed.status == "auto_closed"


def test_cancellation_notice_opens_an_urgent_save_attempt_and_withdrawal_closes_it() -> None:
    noticed = contract(cancellation_notice_on=d("2026-12-01"))
    decision = decide(
        account(noticed), event("contract.cancellation_noticed", "2026-12-01", CREATED), SETTINGS
    )
    assert [(t.kind, t.priority, t.due_date) for t in decision.new_tasks] == [
        ("save_attempt", "urgent", d("2026-12-04"))
    ]
    facts = applied(account(noticed), decision)
    facts = replace(facts, contracts=(contract(),))
    facts = run(facts, event("contract.cancellation_withdrawn", "2026-12-02", CREATED, eid="e2"))
    assert open_kinds(facts) == []


def test_owner_change_moves_open_tasks() -> None:
    facts = run(account(contract()), event("contract.cancellation_noticed", "2026-12-01", CREATED))
    facts = run(
        replace(facts, owner="new@example.com"),
        event("account.updated", "2026-12-02", {"id": "a1"}, eid="e2"),
    )
    assert {t.owner for t in facts.tasks} == {"new@example.com"}


def test_health_turning_red_near_renewal_escalates_once() -> None:
    people = (StakeholderFacts("s1", "Ada", "business_owner", "departed"),)
    base = account(
        contract(cancellation_notice_on=d("2027-01-01")),
        stakeholders=people,
        latest_usage=usage(1, 10, "2027-01-01"),
    )
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
    facts = run(base, event("stakeholder.departed", "2027-01-02", data))
    contract_after = facts.contracts[0]
    assert contract_after.health_band == "red"
    assert contract_after.health_score == 100 - 30 - 25 - 30
    assert "renewal_at_risk" in open_kinds(facts)
    later = decide(facts, event("stakeholder.departed", "2027-01-05", data, eid="e9"), SETTINGS)
    assert later.new_tasks == []


def test_deciding_again_on_the_resulting_facts_changes_nothing() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", CREATED))
    facts = opened(facts, "kickoff")
    again = decide(facts, event("contract.updated", "2026-03-01", CREATED), SETTINGS)
    assert is_empty(again)


def test_short_terms_get_only_renewal_date_checkpoints() -> None:
    monthly = contract("2026-03-01", "2026-04-01")
    facts = run(account(monthly), event("contract.created", "2026-03-01", CREATED))
    assert statuses(facts) == {
        "renewal_due": "planned",
        "renewal_overdue": "planned",
        "renewal_window": "skipped",  # R - 90 and R - 60 days had passed at creation
        "renewal_near": "skipped",
    }
    assert all(cp.due_date <= d("2026-04-02") for cp in facts.checkpoints)


def test_departure_before_the_contract_starts_still_opens_a_task() -> None:
    people = (StakeholderFacts("s1", "Ada", "business_owner", "departed"),)
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
    future = contract("2026-12-01", "2027-12-01")
    decision = decide(
        account(future, stakeholders=people),
        event("stakeholder.departed", "2026-11-25", data),
        SETTINGS,
    )
    assert [(t.kind, t.due_date) for t in decision.new_tasks] == [
        ("stakeholder_change", d("2026-12-02"))
    ]


def test_departure_on_an_account_with_only_churned_contracts_opens_nothing() -> None:
    people = (StakeholderFacts("s1", "Ada", "business_owner", "departed"),)
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
    gone = contract(churned_on=d("2026-05-01"), churn_reason="price")
    decision = decide(
        account(gone, stakeholders=people),
        event("stakeholder.departed", "2026-06-01", data),
        SETTINGS,
    )
    assert decision.new_tasks == []
