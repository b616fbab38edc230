"""Time-driven rules on hand-built facts: the renewal markers (R - 90 and R - 60 days),
the priority raise they bring, the at-risk escalation on entering the window, health on
the day a task passes 14 days overdue, and outreach_not_done only where the plan has an
outreach.

The worked example's contract (S = 2026-03-15, R = 2027-03-15, growth: tasks `normal`)
is created on 2026-03-01, so its markers are planned for 2026-12-15 and 2027-01-14.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from services.renewal_worker.engine.plan import marker_rows
from services.renewal_worker.engine.rules import TaskChange, decide
from services.renewal_worker.engine.state import (
    AccountFacts,
    EngineEvent,
    TaskFacts,
    Term,
    UsageFacts,
)
from shared.rules.types import CheckpointKind, Priority
from tests.renewal_worker.engine.facts import (
    SETTINGS,
    account,
    contract,
    d,
    event,
    is_empty,
    run,
)

CREATED = {"id": "c1", "account_id": "a1"}
WINDOW, NEAR = "2026-12-15", "2027-01-14"
ARR = Decimal("12000")


def markers(facts: AccountFacts) -> dict[str, tuple[str, str]]:
    """kind -> (due date, status) of the current term's renewal markers."""
    return {
        cp.kind: (str(cp.due_date), cp.status)
        for cp in facts.checkpoints
        if cp.kind in {"renewal_window", "renewal_near"}
    }


def due(kind: str, day: str, eid: str | None = None, term: int = 1) -> EngineEvent:
    """The scheduler's `checkpoint.due` for a checkpoint (or marker) of c1."""
    data = {"contract_id": "c1", "account_id": "a1", "term": term, "kind": kind, "ordinal": 0}
    return event("checkpoint.due", day, data, eid=eid or f"due-{kind}-{day}")


def opened(facts: AccountFacts, kind: str) -> AccountFacts:
    """What the sweep does on the marker's day: mark it opened and emit its event."""
    (cp,) = [c for c in facts.checkpoints if c.kind == kind and c.term == 1]
    return replace(
        facts,
        checkpoints=tuple(replace(c, status="opened") if c is cp else c for c in facts.checkpoints),
    )


def task(
    key: str, kind: str, due_on: str, priority: Priority | None, **fields: object
) -> TaskFacts:
    base = TaskFacts(
        dedupe_key=key,
        contract_id="c1",
        kind=kind,
        due_date=d(due_on),
        status="open",
        description="",
        owner="am@example.com",
        term=1,
        priority=priority,
    )
    return replace(base, **fields)


def created(**overrides: object) -> AccountFacts:
    return run(account(contract(**overrides)), event("contract.created", "2026-03-01", CREATED))


# --- the markers in the plan ------------------------------------------------------------


def test_markers_sit_at_r_minus_90_and_60_days_and_open_on_their_day() -> None:
    rows = marker_rows(d("2027-03-15"))
    assert [(r.kind, r.due_date, r.opens_on) for r in rows] == [
        (CheckpointKind.RENEWAL_WINDOW, d(WINDOW), d(WINDOW)),
        (CheckpointKind.RENEWAL_NEAR, d(NEAR), d(NEAR)),
    ]
    assert markers(created()) == {
        "renewal_window": (WINDOW, "planned"),
        "renewal_near": (NEAR, "planned"),
    }


@pytest.mark.parametrize(
    ("created_on", "expected"),
    [
        pytest.param(
            "2026-12-14",
            {"renewal_window": (WINDOW, "planned"), "renewal_near": (NEAR, "planned")},
            id="the-day-before-the-window",
        ),
        pytest.param(
            WINDOW,
            {"renewal_window": (WINDOW, "skipped"), "renewal_near": (NEAR, "planned")},
            id="on-r-minus-90",
        ),
        pytest.param(
            "2027-02-01",
            {"renewal_window": (WINDOW, "skipped"), "renewal_near": (NEAR, "skipped")},
            id="inside-60-days",
        ),
    ],
)
def test_markers_whose_day_has_come_at_creation_are_skipped(
    created_on: str, expected: dict[str, tuple[str, str]]
) -> None:
    """The creation event already brings the day: health and priorities are computed
    as of it (no 14-day grace, unlike checkpoints)."""
    facts = run(account(contract()), event("contract.created", created_on, CREATED))
    assert markers(facts) == expected


def test_a_marker_opens_no_task() -> None:
    facts = opened(created(), "renewal_window")
    decision = decide(facts, due("renewal_window", WINDOW), SETTINGS)
    assert decision.new_tasks == []
    assert decision.task_changes == []


def test_a_marker_that_fired_plans_again_when_r_moves_later() -> None:
    facts = opened(opened(created(), "renewal_window"), "renewal_near")
    later = replace(facts.contracts[0], terms=(Term(1, d("2026-03-15"), d("2027-06-15"), ARR),))
    facts = run(
        replace(facts, contracts=(later,)), event("contract.updated", "2027-01-20", CREATED)
    )
    assert markers(facts) == {
        "renewal_window": ("2027-03-17", "planned"),
        "renewal_near": ("2027-04-16", "planned"),
    }


def test_r_moved_into_the_window_raises_open_tasks_with_the_update() -> None:
    """The planned renewal_near marker's day came with the update, not with a sweep: it
    is skipped and its effect applied at once."""
    kickoff = task("k", "kickoff", "2026-11-20", Priority.NORMAL)
    facts = replace(created(), tasks=(kickoff,))
    sooner = replace(facts.contracts[0], terms=(Term(1, d("2026-03-15"), d("2027-01-10"), ARR),))
    decision = decide(
        replace(facts, contracts=(sooner,)),
        event("contract.updated", "2026-12-01", CREATED),
        SETTINGS,
    )
    assert TaskChange("k", priority=Priority.HIGH) in decision.task_changes
    assert {cp.kind: cp.status for cp in decision.checkpoints if cp.kind == "renewal_near"} == {
        "renewal_near": "skipped"
    }


# --- item 5: priority follows the calendar ----------------------------------------------


def test_renewal_near_moves_each_open_task_one_step_up_once() -> None:
    tasks = (
        task("kickoff", "kickoff", "2026-03-18", Priority.NORMAL),
        task("goal", "goal_at_risk", "2027-01-10", Priority.NORMAL),
        task("done", "mid_term_review", "2026-09-13", Priority.NORMAL, status="done"),
        task("due", "renewal_due", "2027-03-01", Priority.URGENT),
        task("other", "kickoff", "2026-03-18", Priority.NORMAL, contract_id="c2"),
    )
    facts = opened(replace(created(), tasks=tasks), "renewal_near")
    decision = decide(facts, due("renewal_near", NEAR), SETTINGS)
    assert sorted((c.dedupe_key, c.priority) for c in decision.task_changes if c.priority) == [
        ("goal", Priority.HIGH),
        ("kickoff", Priority.HIGH),
    ]
    assert decision.new_tasks == []

    after = run(facts, due("renewal_near", NEAR))
    assert {t.dedupe_key: t.priority for t in after.tasks}["kickoff"] == Priority.HIGH
    again = decide(after, due("renewal_near", NEAR, eid="redelivered"), SETTINGS)
    assert [c for c in again.task_changes if c.priority] == []


@pytest.mark.parametrize(
    ("arr", "current", "expected"),
    [
        pytest.param("150000", Priority.HIGH, Priority.URGENT, id="enterprise-high-to-urgent"),
        pytest.param("2000", Priority.LOW, Priority.NORMAL, id="scale-low-to-normal"),
        pytest.param("12000", Priority.URGENT, None, id="raised-by-a-person-stays"),
        pytest.param("12000", Priority.HIGH, None, id="already-one-step-up"),
        pytest.param("150000", Priority.URGENT, None, id="never-above-urgent"),
    ],
)
def test_the_raise_is_one_step_from_the_segment_and_never_lowers(
    arr: str, current: Priority, expected: Priority | None
) -> None:
    facts = replace(created(arr=arr), tasks=(task("t", "kickoff", "2026-03-18", current),))
    decision = decide(opened(facts, "renewal_near"), due("renewal_near", NEAR), SETTINGS)
    assert [c.priority for c in decision.task_changes if c.priority] == (
        [expected] if expected else []
    )


def test_a_marker_of_a_renewed_term_raises_nothing() -> None:
    facts = opened(created(), "renewal_near")
    renewed = replace(
        facts.contracts[0],
        terms=(*facts.contracts[0].terms, Term(2, d("2027-03-15"), d("2028-03-15"), ARR)),
    )
    facts = replace(
        facts,
        contracts=(renewed,),
        tasks=(task("t", "kickoff", "2027-03-18", Priority.NORMAL, term=2),),
    )
    decision = decide(facts, due("renewal_near", NEAR), SETTINGS)
    assert [c for c in decision.task_changes if c.priority] == []


# --- item 4: at-risk escalation on entering the window ----------------------------------


def red(facts: AccountFacts) -> AccountFacts:
    """Cancellation notice (-30), a key stakeholder lost (-30), low adoption (-25): 15."""
    people_task = task("sc", "stakeholder_change", "2026-12-10", Priority.NORMAL)
    noticed = replace(facts.contracts[0], cancellation_notice_on=d("2026-10-01"))
    return replace(
        facts,
        contracts=(noticed,),
        tasks=(*facts.tasks, people_task),
        latest_usage={"c1": UsageFacts("c1", 1, 10, d("2026-10-01"))},
    )


def test_a_red_contract_escalates_when_r_comes_within_90_days() -> None:
    facts = run(red(created()), event("account.updated", "2026-10-02", {"id": "a1"}))
    assert facts.contracts[0].health_band == "red"
    assert "renewal_at_risk" not in {t.kind for t in facts.tasks}  # R is 164 days away

    facts = opened(facts, "renewal_window")
    decision = decide(facts, due("renewal_window", WINDOW), SETTINGS)
    assert [(t.kind, t.priority, t.due_date) for t in decision.new_tasks] == [
        ("renewal_at_risk", Priority.URGENT, d("2026-12-17"))
    ]
    assert decision.health == []  # no health change was needed to escalate

    after = run(facts, due("renewal_window", WINDOW))
    later = decide(after, event("account.updated", "2027-01-05", {"id": "a1"}), SETTINGS)
    assert later.new_tasks == []  # at most one per term


# --- item 2: health kept current by time -------------------------------------------------


def test_outreach_not_done_counts_from_the_renewal_near_marker() -> None:
    facts = opened(created(), "renewal_near")
    the_day_before = event("account.updated", "2027-01-13", {"id": "a1"})
    assert decide(facts, the_day_before, SETTINGS).health == []
    decision = decide(facts, due("renewal_near", NEAR), SETTINGS)
    (change,) = decision.health
    assert [(s.signal, s.points) for s in change.health.signals] == [("outreach_not_done", -15)]


@pytest.mark.parametrize(
    ("start", "end", "arr", "expected"),
    [
        pytest.param("2026-10-01", "2027-01-01", "12000", [], id="quarterly-lean-plan"),
        pytest.param("2026-12-01", "2027-01-01", "12000", [], id="monthly-lean-plan"),
        pytest.param(
            "2026-03-15", "2027-03-15", "500", [("outreach_not_done", -15)], id="self-serve-keeps"
        ),
    ],
)
def test_outreach_not_done_only_where_the_plan_has_an_outreach(
    start: str, end: str, arr: str, expected: list[tuple[str, int]]
) -> None:
    facts = run(
        account(contract(start, end, arr)), event("contract.created", "2026-09-01", CREATED)
    )
    day = str(d(end) - timedelta(days=30))
    facts = run(facts, event("usage.reported", day, {"contract_id": "c1"}))
    assert list(facts.contracts[0].health_signals) == expected


def test_task_overdue_brings_the_day_a_task_passes_14_days_overdue() -> None:
    facts = replace(created(), tasks=(task("k", "kickoff", "2026-03-18", Priority.NORMAL),))
    data = {"id": "t1", "contract_id": "c1", "account_id": "a1", "due_date": "2026-03-18"}
    on_day_14 = decide(facts, event("task.overdue", "2026-04-01", data), SETTINGS)
    assert on_day_14.health == []
    decision = decide(facts, event("task.overdue", "2026-04-02", data), SETTINGS)
    (change,) = decision.health
    assert [(s.signal, s.points) for s in change.health.signals] == [("overdue_tasks", -10)]
    assert (decision.new_tasks, decision.task_changes) == ([], [])
    noted = run(facts, event("task.overdue", "2026-04-02", data))
    assert is_empty(decide(noted, event("task.overdue", "2026-04-02", data, eid="e2"), SETTINGS))
