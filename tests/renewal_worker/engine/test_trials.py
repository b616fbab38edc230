"""Add-on trials on any term: one `trial_ending` checkpoint each, due 7 days before the
trial ends and opening 7 days before that, whose task names the trial."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.renewal_worker.engine.plan import TermPlanInput, trial_rows
from services.renewal_worker.engine.playbooks import TaskContext, render_task
from services.renewal_worker.engine.state import AccountFacts, CheckpointFacts, Term, TrialFacts
from shared.rules.types import CheckpointKind, Segment
from tests.renewal_worker.engine.facts import account, contract, d, event, run

K = CheckpointKind
S, R = d("2026-03-15"), d("2027-03-15")
TERM_1 = TermPlanInput(
    term_number=1,
    start=S,
    renewal=R,
    segment=Segment.GROWTH,
    fiscal_year_start_month=1,
    budget_lead_days=90,
    auto_renew=False,
    notice_period_days=0,
)
TERM_2 = replace(TERM_1, term_number=2, start=R, renewal=d("2028-03-15"))
CONTRACT = {"id": "c1", "account_id": "a1"}


def trial(name: str, started: str, ends: str, tid: str = "t1") -> TrialFacts:
    return TrialFacts(id=tid, name=name, started_on=d(started), ends_on=d(ends))


def planned(inp: TermPlanInput, *ends: str) -> list[tuple[int, date, date]]:
    return [(r.ordinal, r.due_date, r.opens_on) for r in trial_rows(inp, [d(e) for e in ends])]


def trial_checkpoints(facts: AccountFacts) -> list[CheckpointFacts]:
    return sorted(
        (cp for cp in facts.checkpoints if cp.kind == K.TRIAL_ENDING),
        key=lambda cp: (cp.term, cp.ordinal),
    )


def opened(facts: AccountFacts, cp: CheckpointFacts) -> AccountFacts:
    """What the scheduler does on the checkpoint's opening day."""
    facts = replace(
        facts,
        checkpoints=tuple(
            replace(c, status="opened") if c.identity == cp.identity else c
            for c in facts.checkpoints
        ),
    )
    data = {"contract_id": "c1", "account_id": "a1", "term": cp.term, "kind": cp.kind,
            "ordinal": cp.ordinal}  # fmt: skip
    return run(facts, event("checkpoint.due", str(cp.opens_on), data, eid=f"due-{cp.ordinal}"))


# --- the plan ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inp", "ends", "expected"),
    [
        # Numbered 1, 2, … in the order recorded (not by date); due 7 days before the end,
        # opening 7 days before that.
        (TERM_1, ["2026-09-30", "2026-07-01"],
         [(1, d("2026-09-23"), d("2026-09-16")), (2, d("2026-06-24"), d("2026-06-17"))]),
        # Term 1 also plans trials that end before S, like the contract's own trial.
        (TERM_1, ["2026-03-01"], [(1, d("2026-02-22"), d("2026-02-15"))]),
        # Due on R belongs to the term ending at R; due after R waits for the next term.
        (TERM_1, ["2027-03-22", "2027-03-23"], [(1, R, R - timedelta(days=7))]),
        # Term 2 plans what is due in (S, R]; due on or before its S was term 1's.
        (TERM_2, ["2027-03-22", "2027-03-23", "2026-12-01"],
         [(2, d("2027-03-16"), d("2027-03-09"))]),
        # Lean plans keep trial_ending rows.
        (replace(TERM_1, segment=Segment.SELF_SERVE), ["2026-09-30"],
         [(1, d("2026-09-23"), d("2026-09-16"))]),
        (replace(TERM_1, renewal=d("2026-04-15")), ["2026-04-10"],
         [(1, d("2026-04-03"), d("2026-03-27"))]),
    ],
)  # fmt: skip
def test_each_trial_is_planned_by_the_term_its_due_date_falls_in(
    inp: TermPlanInput, ends: list[str], expected: list[tuple[int, date, date]]
) -> None:
    assert planned(inp, *ends) == expected


def test_contract_trial_started_plans_its_trial_beside_the_contracts_own_trial() -> None:
    own = contract(trial_end=d("2026-03-10"))
    facts = run(account(own), event("contract.created", "2026-02-20", CONTRACT))
    facts = opened(facts, trial_checkpoints(facts)[0])
    with_trial = replace(own, trials=(trial("Reporting module", "2026-06-01", "2026-07-01"),))

    facts = run(
        replace(facts, contracts=(with_trial,)),
        event("contract.trial_started", "2026-06-01", {"id": "t1", "contract_id": "c1"}, "e2"),
    )

    assert [(cp.term, cp.ordinal, cp.due_date, cp.opens_on, cp.status)
            for cp in trial_checkpoints(facts)] == [
        (1, 0, d("2026-03-03"), d("2026-02-24"), "opened"),
        (1, 1, d("2026-06-24"), d("2026-06-17"), "planned"),
    ]  # fmt: skip


def test_a_trial_already_over_when_recorded_follows_the_skip_rule() -> None:
    trials = (
        trial("Old modules", "2026-04-01", "2026-05-01", "t1"),  # due 04-24: 38 days ago
        trial("Recent users", "2026-04-20", "2026-05-20", "t2"),  # due 05-13: 19 days ago
        trial("Last week", "2026-05-01", "2026-06-01", "t3"),  # due 05-25: 7 days ago
    )
    facts = run(
        account(contract(trials=trials)),
        event("contract.trial_started", "2026-06-01", {"id": "t3", "contract_id": "c1"}),
    )

    assert [(cp.ordinal, cp.status) for cp in trial_checkpoints(facts)] == [
        (1, "skipped"),
        (2, "skipped"),
        (3, "planned"),
    ]


def test_replans_keep_the_trials_and_move_none_of_them() -> None:
    with_trial = contract(trials=(trial("Reporting module", "2026-06-01", "2026-07-01"),))
    facts = run(account(with_trial), event("contract.created", "2026-03-01", CONTRACT))
    before = trial_checkpoints(facts)
    redated = replace(
        with_trial,
        terms=(Term(1, S, d("2027-04-15"), Decimal(12000)),),
    )

    facts = run(
        replace(facts, contracts=(redated,)),
        event("contract.updated", "2026-05-01", CONTRACT, "e2"),
    )

    assert trial_checkpoints(facts) == before
    assert [cp.status for cp in before] == ["planned"]


def test_an_early_renewal_keeps_a_trial_of_the_old_term_and_the_new_term_plans_later_ones() -> None:
    trials = (
        trial("Reporting module", "2027-02-01", "2027-03-03", "t1"),  # due 02-24, term 1
        trial("More users", "2027-03-01", "2027-03-31", "t2"),  # due 03-24, term 2
    )
    first = contract(trials=trials)
    facts = run(account(first), event("contract.created", "2026-03-01", CONTRACT))
    assert [(cp.term, cp.ordinal) for cp in trial_checkpoints(facts)] == [(1, 1)]
    renewed = replace(first, terms=(*first.terms, Term(2, R, d("2028-03-15"), Decimal(15000))))

    facts = run(
        replace(facts, contracts=(renewed,)),
        event("contract.renewed", "2027-01-10", CONTRACT, "e2"),
    )

    assert [(cp.term, cp.ordinal, cp.due_date, cp.status) for cp in trial_checkpoints(facts)] == [
        (1, 1, d("2027-02-24"), "planned"),
        (2, 2, d("2027-03-24"), "planned"),
    ]
    renewal_due = next(cp for cp in facts.checkpoints if cp.kind == K.RENEWAL_DUE and cp.term == 1)
    assert renewal_due.status == "cancelled"


def test_a_churn_cancels_the_trials_still_to_come() -> None:
    with_trial = contract(trials=(trial("Reporting module", "2026-06-01", "2026-07-01"),))
    facts = run(account(with_trial), event("contract.created", "2026-03-01", CONTRACT))
    churned = replace(with_trial, churned_on=d("2026-05-01"), churn_reason="price")

    facts = run(
        replace(facts, contracts=(churned,)),
        event("contract.churned", "2026-05-01", CONTRACT, "e2"),
    )

    assert [cp.status for cp in trial_checkpoints(facts)] == ["cancelled"]


# --- the task ------------------------------------------------------------------------------


def test_the_trials_task_names_it_with_its_end_and_the_contracts_own_keeps_its_text() -> None:
    own = contract(
        trial_end=d("2026-03-10"),
        trials=(
            trial("Forecast module", "2026-05-01", "2026-05-31", "t1"),
            trial("20 more users", "2026-06-01", "2026-07-01", "t2"),
        ),
    )
    facts = run(account(own), event("contract.created", "2026-02-20", CONTRACT))
    for cp in trial_checkpoints(facts):
        facts = opened(facts, cp)

    tasks = {t.checkpoint[3]: t for t in facts.tasks if t.checkpoint is not None}
    assert {n: (t.kind, t.due_date) for n, t in tasks.items()} == {
        0: ("trial_ending", d("2026-03-03")),
        1: ("trial_ending", d("2026-05-24")),
        2: ("trial_ending", d("2026-06-24")),
    }
    assert "The trial of 20 more users ends on 2026-07-01" in tasks[2].description
    assert "The trial of Forecast module ends on 2026-05-31" in tasks[1].description
    assert "The trial ends on 2026-03-10" in tasks[0].description
    assert "20 more users" not in tasks[0].description + tasks[1].description


ADDON = TaskContext(
    account_name="Acme Logistics",
    contract_id="c1",
    term_number=2,
    term_start=d("2027-03-15"),
    arr="USD 12,000.00",
    segment=Segment.GROWTH,
    renewal=d("2028-03-15"),
    due_date=d("2027-06-24"),
    fiscal_year_start=d("2028-01-01"),
    budget_fixed_on=d("2027-10-03"),
    auto_renew=False,
    business_owners=("Ana Owner",),
    trial_end=d("2027-07-01"),
    trial_name="Reporting module",
)


def test_an_add_on_trials_playbook_names_it_and_what_to_do_before_it_ends() -> None:
    title, description = render_task("trial_ending", ADDON)

    assert title == "Trial of Reporting module at Acme Logistics ends on 2027-07-01"
    for fact in (
        "The trial of Reporting module ends on 2027-07-01",
        "Confirm the order or the quote for Reporting module with Ana Owner",
        "partner",
        "what happens on 2027-07-01: without an order, Reporting module is blocked",
        "Order placed or quote signed for Reporting module before 2027-07-01",
    ):
        assert fact in description, fact


def test_the_contracts_own_trial_keeps_its_playbook() -> None:
    own = replace(ADDON, trial_name=None, term_number=1, trial_end=d("2026-04-15"))

    title, description = render_task("trial_ending", own)

    assert title == "Trial of Acme Logistics ends on 2026-04-15"
    assert "database will be blocked" in description
    assert "Reporting module" not in title + description


def test_a_trial_recorded_after_an_early_renewal_is_planned_in_the_term_it_ends_in() -> None:
    """Renewed on 2027-01-10 (term 2 starts at R = 2027-03-15), then a trial recorded on
    2027-01-20 ends on 2027-02-19: it is still term 1's, and its task opens on time."""
    first = contract()
    facts = run(account(first), event("contract.created", "2026-03-01", CONTRACT))
    renewed = replace(first, terms=(*first.terms, Term(2, R, d("2028-03-15"), Decimal(15000))))
    facts = run(
        replace(facts, contracts=(renewed,)),
        event("contract.renewed", "2027-01-10", CONTRACT, "e2"),
    )
    late = replace(renewed, trials=(trial("Reporting module", "2027-01-20", "2027-02-19"),))

    facts = run(
        replace(facts, contracts=(late,)),
        event("contract.trial_started", "2027-01-20", {"id": "t1", "contract_id": "c1"}, "e3"),
    )

    (cp,) = trial_checkpoints(facts)
    assert (cp.term, cp.ordinal, cp.due_date, cp.opens_on, cp.status) == (
        1, 1, d("2027-02-12"), d("2027-02-05"), "planned",
    )  # fmt: skip
    facts = opened(facts, cp)
    (task,) = [t for t in facts.tasks if t.kind == K.TRIAL_ENDING]
    assert (task.term, task.due_date) == (1, d("2027-02-12"))
    assert "The trial of Reporting module ends on 2027-02-19" in task.description
