"""Implementation follow-ups: every two weeks in the first three months of term 1, for
enterprise and mid-market customers, one open at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.renewal_worker.engine.plan import TermPlanInput, plan_term
from services.renewal_worker.engine.state import AccountFacts, Term
from shared.rules.types import CheckpointKind, Segment
from tests.renewal_worker.engine.facts import account, contract, d, event, run

K = CheckpointKind
S = date(2026, 3, 15)
PLAN = TermPlanInput(
    term_number=1,
    start=S,
    renewal=date(2027, 3, 15),
    segment=Segment.ENTERPRISE,
    fiscal_year_start_month=1,
    budget_lead_days=90,
    auto_renew=False,
    notice_period_days=0,
)


def followups(inp: TermPlanInput) -> list[tuple[int, date, date]]:
    return [
        (c.ordinal, c.due_date, c.opens_on)
        for c in plan_term(inp)
        if c.kind is K.IMPLEMENTATION_FOLLOWUP
    ]


@pytest.mark.parametrize("segment", [Segment.ENTERPRISE, Segment.MID_MARKET])
def test_followups_every_14_days_to_s_plus_84_leaving_out_the_one_near_the_check(
    segment: Segment,
) -> None:
    # S + 28 is two days from the implementation check (S + 30): left to the check.
    assert followups(replace(PLAN, segment=segment)) == [
        (1, d("2026-03-29"), d("2026-03-22")),
        (3, d("2026-04-26"), d("2026-04-19")),
        (4, d("2026-05-10"), d("2026-05-03")),
        (5, d("2026-05-24"), d("2026-05-17")),
        (6, d("2026-06-07"), d("2026-05-31")),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"segment": Segment.GROWTH},
        {"segment": Segment.SCALE},
        {"segment": Segment.SELF_SERVE},
        {"term_number": 2},
        {"renewal": date(2026, 6, 15)},  # a quarterly term keeps only the renewal dates
    ],
    ids=["growth", "scale", "self_serve", "term 2", "quarterly"],
)
def test_no_followups_outside_term_1_of_larger_customers_or_in_lean_plans(
    changes: dict[str, object],
) -> None:
    assert followups(replace(PLAN, **changes)) == []  # type: ignore[arg-type]


def test_a_four_month_term_keeps_the_followups_before_r() -> None:
    inp = replace(PLAN, renewal=date(2026, 7, 15))
    assert [ordinal for ordinal, _, _ in followups(inp)] == [1, 3, 4, 5, 6]


def _enterprise() -> AccountFacts:
    big = contract(arr="150000", terms=(Term(1, S, date(2027, 3, 15), Decimal(150000)),))
    return run(account(big), event("contract.created", "2026-03-01", {"id": "c1"}))


def _open(facts: AccountFacts, ordinal: int) -> AccountFacts:
    cp = next(
        c for c in facts.checkpoints if c.kind == K.IMPLEMENTATION_FOLLOWUP and c.ordinal == ordinal
    )
    facts = replace(
        facts,
        checkpoints=tuple(replace(c, status="opened") if c is cp else c for c in facts.checkpoints),
    )
    data = {"contract_id": "c1", "account_id": "a1", "term": 1, "kind": cp.kind, "ordinal": ordinal}
    return run(facts, event("checkpoint.due", str(cp.opens_on), data, eid=f"due-{ordinal}"))


def test_the_next_followup_supersedes_the_open_one() -> None:
    facts = _open(_enterprise(), 1)
    (first,) = [t for t in facts.tasks if t.kind == K.IMPLEMENTATION_FOLLOWUP]
    assert (first.status, first.due_date) == ("open", d("2026-03-29"))
    assert "roll-out" in first.description
    facts = _open(facts, 3)
    by_due = {t.due_date: t.status for t in facts.tasks if t.kind == K.IMPLEMENTATION_FOLLOWUP}
    assert by_due == {d("2026-03-29"): "auto_closed", d("2026-04-26"): "open"}


def test_a_done_followup_stays_done_when_the_next_opens() -> None:
    facts = _open(_enterprise(), 1)
    facts = replace(
        facts,
        tasks=tuple(
            replace(t, status="done") if t.kind == K.IMPLEMENTATION_FOLLOWUP else t
            for t in facts.tasks
        ),
    )
    facts = _open(facts, 3)
    statuses = sorted(t.status for t in facts.tasks if t.kind == K.IMPLEMENTATION_FOLLOWUP)
    assert statuses == ["done", "open"]
