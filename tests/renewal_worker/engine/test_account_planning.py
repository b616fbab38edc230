"""The issue "Tasks an account manager can trust", engine side: the renewal outreach never
skipped while R is ahead, auto-renewal confirmations, an unknown fiscal year, budget and
on-site work planned once per account, budget texts that can be followed, budget
holders. Plan rules on `plan_term` / `onsite_visits`, event rules on `decide`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    TermPlanInput,
    onsite_visits,
    opens_late,
    plan_term,
)
from services.renewal_worker.engine.playbooks import ContractLine, TaskContext, render_task
from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import AccountFacts, StakeholderFacts, TaskFacts, Term
from shared.rules.types import CheckpointKind, Segment
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, d, event, run

K = CheckpointKind
S, R = d("2026-03-15"), d("2027-03-15")
EXAMPLE = TermPlanInput(
    term_number=1,
    start=S,
    renewal=R,
    segment=Segment.GROWTH,
    fiscal_year_start_month=1,
    budget_lead_days=90,
    auto_renew=False,
    notice_period_days=0,
)


def dues(inp: TermPlanInput) -> dict[CheckpointKind, date]:
    return {c.kind: c.due_date for c in plan_term(inp) if c.ordinal == 0}


def created(cid: str = "c1") -> dict[str, str]:
    return {"id": cid, "account_id": "a1"}


def opened(facts: AccountFacts, kind: str, cid: str = "c1", ordinal: int = 0) -> AccountFacts:
    """What a sweep does when the checkpoint's opening day comes."""
    cp = next(
        c
        for c in facts.checkpoints
        if (c.contract_id, c.kind, c.ordinal) == (cid, kind, ordinal) and c.status == "planned"
    )
    facts = replace(
        facts,
        checkpoints=tuple(replace(c, status="opened") if c is cp else c for c in facts.checkpoints),
    )
    data = {"contract_id": cid, "account_id": "a1", "term": cp.term, "kind": kind}
    data |= {"ordinal": ordinal}
    return run(facts, event("checkpoint.due", str(cp.opens_on), data, eid=f"due-{cid}-{kind}"))


def tasks(facts: AccountFacts, kind: str) -> list[TaskFacts]:
    return sorted((t for t in facts.tasks if t.kind == kind), key=lambda t: t.dedupe_key)


def row(facts: AccountFacts, kind: str, cid: str = "c1", term: int = 1) -> Any:
    return next(
        cp
        for cp in facts.checkpoints
        if (cp.contract_id, cp.kind, cp.term) == (cid, kind, term) and cp.ordinal == 0
    )


def done(facts: AccountFacts, key: str) -> AccountFacts:
    return replace(
        facts,
        tasks=tuple(replace(t, status="done") if t.dedupe_key == key else t for t in facts.tasks),
    )


# --- 3. the renewal outreach is never skipped while R is ahead ---------------------------


@pytest.mark.parametrize(
    ("event_day", "late"),
    [
        pytest.param("2027-01-15", False, id="on-the-outreach-date"),
        pytest.param("2027-01-16", True, id="day-after"),
        pytest.param("2027-03-14", True, id="day-before-R"),
        pytest.param("2027-03-15", False, id="on-R"),
    ],
)
def test_outreach_opens_late_strictly_between_its_date_and_r(event_day: str, late: bool) -> None:
    outreach = PlannedCheckpoint(K.RENEWAL_OUTREACH, 0, d("2027-01-15"), d("2027-01-01"))
    assert opens_late(outreach, d(event_day), R) is late
    kickoff = PlannedCheckpoint(K.KICKOFF, 0, d("2026-03-18"), d("2026-03-11"))
    assert not opens_late(kickoff, d(event_day), R)


def test_contract_imported_after_its_outreach_date_opens_the_outreach_at_once() -> None:
    decision = decide(
        account(contract()), event("contract.created", "2027-02-10", created()), SETTINGS
    )
    outreach = next(cp for cp in decision.checkpoints if cp.kind == "renewal_outreach")
    assert (outreach.due_date, outreach.opens_on, outreach.status) == (
        d("2027-02-10"),
        d("2027-02-10"),
        "opened",
    )
    assert [(t.kind, t.due_date, t.priority) for t in decision.new_tasks] == [
        ("renewal_outreach", d("2027-02-10"), "high")
    ]
    statuses = {cp.kind: cp.status for cp in decision.checkpoints}
    assert statuses["budget_confirmation"] == statuses["mid_term_review"] == "skipped"
    assert statuses["renewal_due"] == "planned"


def test_an_outreach_due_within_14_days_also_opens_at_once_due_that_day() -> None:
    facts = run(account(contract()), event("contract.created", "2027-01-20", created()))
    assert [(t.kind, t.due_date) for t in facts.tasks] == [("renewal_outreach", d("2027-01-20"))]


def test_redating_past_the_outreach_opens_it_and_later_updates_keep_its_due_date() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", created()))
    earlier = replace(
        facts.contracts[0], terms=(Term(1, S, d("2027-02-15"), Decimal(12000)),)
    )  # outreach now 2026-12-15, before the update on 2027-01-05
    facts = run(
        replace(facts, contracts=(earlier,)),
        event("contract.updated", "2027-01-05", created(), eid="u1"),
    )
    assert [(t.kind, t.due_date, t.status) for t in facts.tasks] == [
        ("renewal_outreach", d("2027-01-05"), "open")
    ]
    again = decide(facts, event("contract.updated", "2027-01-20", created(), eid="u2"), SETTINGS)
    assert again.new_tasks == []
    assert not any(change.due_date for change in again.task_changes)


def test_renewed_term_whose_outreach_has_passed_opens_it_at_once() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", created()))
    quarter = replace(
        facts.contracts[0],
        terms=(*facts.contracts[0].terms, Term(2, R, d("2027-07-15"), Decimal(3000))),
    )
    facts = run(
        replace(facts, contracts=(quarter,)),
        event("contract.renewed", "2027-06-01", created(), eid="r"),
    )
    # A 4-month term keeps the full plan; its outreach (2027-05-15) is already past.
    assert row(facts, "renewal_outreach", term=2).status == "opened"
    assert [(t.kind, t.due_date, t.term) for t in facts.tasks if t.status == "open"] == [
        ("renewal_outreach", d("2027-06-01"), 2)
    ]


# --- 6. auto-renewal confirmation ---------------------------------------------------------


def test_auto_renewing_terms_get_a_confirmation_two_weeks_before_r() -> None:
    plan = plan_term(replace(EXAMPLE, auto_renew=True))
    assert [c for c in plan if c.kind is K.AUTO_RENEWAL_CONFIRMATION] == [
        PlannedCheckpoint(K.AUTO_RENEWAL_CONFIRMATION, 0, d("2027-03-01"), d("2027-02-15"))
    ]
    assert K.AUTO_RENEWAL_CONFIRMATION not in dues(EXAMPLE)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"segment": Segment.SELF_SERVE}, id="self-serve"),
        pytest.param({"renewal": d("2026-06-15")}, id="quarterly"),
        pytest.param({"renewal": d("2026-06-12")}, id="89-days"),
    ],
)
def test_lean_plans_get_no_auto_renewal_confirmation(changes: dict[str, Any]) -> None:
    found = dues(replace(EXAMPLE, auto_renew=True, **changes))
    assert K.AUTO_RENEWAL_CONFIRMATION not in found
    assert K.AUTO_RENEWAL in found


def test_auto_renewal_opens_no_task_and_the_renewal_closes_the_confirmation() -> None:
    facts = run(
        account(contract(auto_renew=True)), event("contract.created", "2026-03-01", created())
    )
    facts = opened(facts, "auto_renewal_confirmation")
    (confirmation,) = tasks(facts, "auto_renewal_confirmation")
    assert (confirmation.due_date, confirmation.status) == (d("2027-03-01"), "open")
    assert "invoice" in confirmation.description
    facts = opened(facts, "auto_renewal")
    assert tasks(facts, "auto_renewal") == []
    renewed = replace(
        facts.contracts[0],
        terms=(*facts.contracts[0].terms, Term(2, R, d("2028-03-15"), Decimal(12000))),
    )
    decision = decide(
        replace(facts, contracts=(renewed,)),
        event("contract.renewed", "2027-03-15", created(), eid="r"),
        SETTINGS,
    )
    assert [(c.dedupe_key, c.status, c.status_reason) for c in decision.task_changes] == [
        (
            confirmation.dedupe_key,
            "auto_closed",
            "renewed: term 2 runs 2027-03-15 to 2028-03-15",
        )
    ]


# --- 8. an unknown fiscal year --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "due"),
    [
        pytest.param({}, d("2026-09-15"), id="R-minus-6-months"),
        pytest.param({"renewal": d("2027-08-31")}, d("2027-02-28"), id="month-end-clamped"),
        pytest.param({"renewal": d("2026-09-10")}, d("2026-03-18"), id="moved-to-kickoff"),
        pytest.param({"notice_period_days": 150}, d("2026-09-15"), id="outreach-day-after"),
        pytest.param({"notice_period_days": 151}, None, id="outreach-on-the-day-dropped"),
    ],
)
def test_unknown_fiscal_year_plans_the_budget_six_months_before_r(
    changes: dict[str, Any], due: date | None
) -> None:
    found = dues(replace(EXAMPLE, fiscal_year_start_month=None, **changes))
    assert found.get(K.BUDGET_CONFIRMATION) == due


def test_unknown_fiscal_year_is_asked_for_in_kickoff_and_mid_term_review() -> None:
    facts = run(
        account(contract(), fiscal_year_start_month=None),
        event("contract.created", "2026-03-01", created()),
    )
    for kind in ("kickoff", "mid_term_review", "budget_confirmation"):
        facts = opened(facts, kind)
        (task,) = tasks(facts, kind)
        assert "Ask when the customer's fiscal year starts" in task.description or (
            "Find out when the customer's fiscal year starts" in task.description
        ), kind
        assert "Customer fiscal year: unknown" in task.description
        assert "fiscal year starting" not in task.description


def test_setting_the_fiscal_year_moves_open_budget_tasks_and_leaves_done_ones() -> None:
    base = account(
        contract(cid="c1"),
        contract("2026-04-01", "2027-09-15", cid="c2"),
        fiscal_year_start_month=None,
    )
    facts = run(
        base,
        event("contract.created", "2026-03-01", created("c1"), eid="a"),
        event("contract.created", "2026-03-01", created("c2"), eid="b"),
    )
    assert row(facts, "budget_confirmation", "c1").due_date == d("2026-09-15")
    assert row(facts, "budget_confirmation", "c2").due_date == d("2027-03-15")
    facts = opened(facts, "budget_confirmation", "c1")
    facts = opened(facts, "budget_confirmation", "c2")
    open_key, done_key = (t.dedupe_key for t in tasks(facts, "budget_confirmation"))
    facts = done(facts, done_key)
    facts = run(
        replace(facts, fiscal_year_start_month=1),
        event("account.updated", "2026-08-20", {"id": "a1"}, eid="fy"),
    )
    assert row(facts, "budget_confirmation", "c1").due_date == d("2026-10-03")
    assert row(facts, "budget_confirmation", "c2").due_date == d("2026-10-03")
    moved, kept = (next(t for t in facts.tasks if t.dedupe_key == k) for k in (open_key, done_key))
    assert (moved.due_date, moved.status) == (d("2026-10-03"), "open")
    assert "fiscal year starting 2027-01-01" in moved.description
    assert (kept.due_date, kept.status) == (d("2027-03-15"), "done")


def test_an_account_update_that_changes_no_budget_date_changes_nothing() -> None:
    facts = run(account(contract()), event("contract.created", "2026-03-01", created()))
    facts = opened(facts, "budget_confirmation")
    decision = decide(facts, event("account.updated", "2026-09-10", {"id": "a1"}), SETTINGS)
    assert (decision.checkpoints, decision.new_tasks, decision.task_changes) == ([], [], [])


# --- 9. account-level budget confirmation and on-site visits --------------------------------


def two_contracts(*, first: str = "c1", second: str = "c2") -> AccountFacts:
    """Both renew in 2027 with a January fiscal year: the same budget day, 2026-10-03."""
    return account(
        contract(cid=first, external_ids=(("crm", "deal-1"),)),
        contract("2026-05-01", "2027-05-01", "30000", cid=second),
    )


@pytest.mark.parametrize("order", [("c1", "c2"), ("c2", "c1")], ids=["c1-first", "c2-first"])
def test_contracts_with_the_same_budget_day_share_one_task(order: tuple[str, str]) -> None:
    facts = run(
        two_contracts(),
        *(event("contract.created", "2026-03-01", created(c), eid=c) for c in order),
    )
    for cid in order:
        facts = opened(facts, "budget_confirmation", cid)
    (task,) = tasks(facts, "budget_confirmation")
    assert task.dedupe_key == "budget_confirmation:a1:2026-10-03"
    assert (task.contract_id, task.due_date) == ("c1", d("2026-10-03"))
    for line in (
        "ARR at stake: 42,000.00 USD over 2 contracts",
        "Contract c1 (crm: deal-1): 12,000.00 USD ARR, renews 2027-03-15",
        "Contract c2: 30,000.00 USD ARR, renews 2027-05-01",
        "the renewals of the 2 contracts listed under At stake",
    ):
        assert line in task.description


def test_a_contract_joining_an_open_budget_day_is_added_and_leaves_when_it_churns() -> None:
    facts = run(account(contract(cid="c1")), event("contract.created", "2026-03-01", created()))
    facts = opened(facts, "budget_confirmation", "c1")
    joined = replace(facts, contracts=two_contracts().contracts)
    facts = run(joined, event("contract.created", "2026-09-10", created("c2"), eid="c2"))
    (task,) = tasks(facts, "budget_confirmation")
    assert "Contract c2" in task.description
    assert "42,000.00 USD over 2 contracts" in task.description
    gone = replace(facts.contracts[1], churned_on=d("2026-09-20"), churn_reason="price")
    facts = run(
        replace(facts, contracts=(facts.contracts[0], gone)),
        event("contract.churned", "2026-09-20", created("c2"), eid="x2"),
    )
    (task,) = tasks(facts, "budget_confirmation")
    assert (task.status, "Contract c2" in task.description) == ("open", False)
    alone = replace(facts.contracts[0], churned_on=d("2026-09-25"), churn_reason="budget")
    facts = run(
        replace(facts, contracts=(alone, gone)),
        event("contract.churned", "2026-09-25", created("c1"), eid="x1"),
    )
    assert [t.status for t in tasks(facts, "budget_confirmation")] == ["auto_closed"]


def test_a_contract_joining_a_budget_day_already_confirmed_gets_its_own_task() -> None:
    facts = run(account(contract(cid="c1")), event("contract.created", "2026-03-01", created()))
    facts = opened(facts, "budget_confirmation", "c1")
    facts = done(facts, "budget_confirmation:a1:2026-10-03")
    facts = run(
        replace(facts, contracts=two_contracts().contracts),
        event("contract.created", "2026-09-01", created("c2"), eid="c2"),
    )
    facts = opened(facts, "budget_confirmation", "c2")
    first, second = tasks(facts, "budget_confirmation")
    assert (first.status, second.status) == ("done", "open")
    assert second.dedupe_key == "budget_confirmation:a1:2026-10-03:c2"
    assert "Contract c1" not in second.description


def test_contracts_with_different_budget_days_get_one_task_each() -> None:
    april = contract("2026-05-01", "2027-05-01", cid="c2")
    facts = run(
        account(contract(cid="c1"), april, fiscal_year_start_month=None),
        event("contract.created", "2026-03-01", created("c1"), eid="a"),
        event("contract.created", "2026-03-01", created("c2"), eid="b"),
    )
    facts = opened(facts, "budget_confirmation", "c1")
    facts = opened(facts, "budget_confirmation", "c2")
    assert [(t.contract_id, t.due_date) for t in tasks(facts, "budget_confirmation")] == [
        ("c1", d("2026-09-15")),
        ("c2", d("2026-11-01")),
    ]


def test_redating_one_contract_splits_it_off_the_shared_budget_task() -> None:
    facts = run(
        two_contracts(),
        event("contract.created", "2026-03-01", created("c1"), eid="a"),
        event("contract.created", "2026-03-01", created("c2"), eid="b"),
    )
    facts = opened(facts, "budget_confirmation", "c1")
    facts = opened(facts, "budget_confirmation", "c2")
    later = replace(
        facts.contracts[1], terms=(Term(1, d("2026-05-01"), d("2028-05-01"), Decimal(30000)),)
    )
    facts = run(
        replace(facts, contracts=(facts.contracts[0], later)),
        event("contract.updated", "2026-09-10", created("c2"), eid="u"),
    )
    shared, split = tasks(facts, "budget_confirmation")
    assert (shared.due_date, "Contract c2" in shared.description) == (d("2026-10-03"), False)
    assert (split.contract_id, split.due_date, split.status) == ("c2", d("2027-10-03"), "open")


ENTERPRISE = Decimal(120000)


def visits(facts: AccountFacts) -> list[tuple[str, int, int, date, str]]:
    return sorted(
        (cp.contract_id, cp.term, cp.ordinal, cp.due_date, cp.status)
        for cp in facts.checkpoints
        if cp.kind == "onsite_visit"
    )


def test_onsite_visits_run_from_the_first_start_every_six_months() -> None:
    found = onsite_visits(d("2025-08-31"), d("2026-01-01"), d("2028-08-31"))
    assert [(c.ordinal, c.due_date, c.opens_on) for c in found] == [
        (1, d("2026-04-30"), d("2026-04-16")),
        (2, d("2026-10-31"), d("2026-10-17")),
        (3, d("2027-04-30"), d("2027-04-16")),
        (4, d("2027-10-31"), d("2027-10-17")),
        (5, d("2028-04-30"), d("2028-04-16")),
    ]


@pytest.mark.parametrize(
    ("renewal", "count"),
    [
        pytest.param(d("2027-01-15"), 1, id="on-R-minus-2-months"),
        pytest.param(d("2027-01-16"), 2, id="day-before-R-minus-2-months"),
    ],
)
def test_onsite_visits_stop_two_months_before_the_anchor_renewal(renewal: date, count: int) -> None:
    assert len(onsite_visits(S, S, renewal)) == count


def test_an_enterprise_account_gets_one_visit_plan_on_the_contract_renewing_last() -> None:
    small = contract("2026-03-15", "2027-03-15", "30000", cid="c1", auto_renew=True)
    large = contract("2026-06-01", "2028-06-01", "90000", cid="c2")
    facts = run(
        account(small, large),
        event("contract.created", "2026-03-01", created("c1"), eid="a"),
        event("contract.created", "2026-03-01", created("c2"), eid="b"),
    )
    # Enterprise (120,000) only once both run: the visit of 2026-05-15 is not planned.
    assert visits(facts) == [
        ("c2", 1, 1, d("2026-11-15"), "planned"),
        ("c2", 1, 2, d("2027-05-15"), "planned"),
        ("c2", 1, 3, d("2027-11-15"), "planned"),
    ]
    facts = opened(facts, "onsite_visit", "c2", 1)
    (task,) = tasks(facts, "onsite_visit")
    assert (task.dedupe_key, task.contract_id, task.due_date) == (
        "onsite_visit:a1:2026-11-15",
        "c2",
        d("2026-11-15"),
    )
    assert "ARR at stake: 120,000.00 USD over 2 contracts" in task.description
    assert "Contract c1: 30,000.00 USD ARR, renews 2027-03-15" in task.description


def test_visits_move_to_the_next_anchor_when_it_churns_and_stop_below_enterprise() -> None:
    first = contract("2026-03-15", "2028-03-15", "100000", cid="c1")
    second = contract("2026-03-15", "2027-09-15", "100000", cid="c2")
    facts = run(
        account(first, second),
        event("contract.created", "2026-03-01", created("c1"), eid="a"),
        event("contract.created", "2026-03-01", created("c2"), eid="b"),
    )
    assert {v[0] for v in visits(facts)} == {"c1"}
    facts = opened(facts, "onsite_visit", "c1", 1)
    gone = replace(first, churned_on=d("2026-11-05"), churn_reason="competitor")
    facts = run(
        replace(facts, contracts=(gone, second)),
        event("contract.churned", "2026-11-05", created("c1"), eid="x"),
    )
    # c2 alone (100,000) is still enterprise: it takes the visits over, the one already
    # opened included.
    assert [v for v in visits(facts) if v[4] != "cancelled"] == [
        ("c2", 1, 0, d("2026-05-15"), "skipped"),
        ("c2", 1, 1, d("2026-11-15"), "opened"),
        ("c2", 1, 2, d("2027-05-15"), "planned"),
    ]
    (task,) = tasks(facts, "onsite_visit")
    assert task.status == "open"
    assert "Contract c1" not in task.description
    smaller = replace(second, terms=(Term(1, second.start_date, second.renewal, Decimal(90000)),))
    facts = run(
        replace(facts, contracts=(gone, smaller)),
        event("contract.updated", "2026-11-10", created("c2"), eid="u"),
    )
    # Only the past visit remains: c1 was still active then.
    assert [v for v in visits(facts) if v[4] != "cancelled"] == [
        ("c2", 1, 0, d("2026-05-15"), "skipped")
    ]
    assert [t.status for t in tasks(facts, "onsite_visit")] == ["auto_closed"]


# --- 10. budget texts that can be followed -------------------------------------------------

CTX = TaskContext(
    account_name="Globex",
    contract_id="c1",
    term_number=1,
    term_start=S,
    arr="12,000.00 USD",
    segment=Segment.GROWTH,
    renewal=R,
    due_date=d("2026-03-18"),
    fiscal_year_start=d("2026-04-01"),
    budget_fixed_on=d("2026-01-01"),
    auto_renew=False,
    business_owners=("Bea Owner",),
)


def test_budget_fixed_before_signing_offers_the_real_options() -> None:
    _, text = render_task("budget_confirmation", CTX)
    assert "get it added before" not in text
    for phrase in (
        "fixed on 2026-01-01, before the contract was signed",
        "a mid-year reallocation",
        "paying the renewal from this year's budget",
        "aligning the next term's dates with the customer's fiscal year (it starts on the "
        "1st of April)",
    ):
        assert phrase in text


def test_budget_fixed_later_asks_to_get_the_renewal_in_before_that_date() -> None:
    ctx = replace(
        CTX,
        due_date=d("2026-10-03"),
        fiscal_year_start=d("2027-01-01"),
        budget_fixed_on=d("2026-10-03"),
    )
    _, text = render_task("budget_confirmation", ctx)
    assert "get it added before 2026-10-03" in text
    assert "reallocation" not in text


# --- 11. budget holders ----------------------------------------------------------------------


def test_budget_tasks_name_the_budget_holders_or_ask_who_holds_the_budget() -> None:
    _, text = render_task("budget_confirmation", CTX)
    assert "- Budget holder: none on record - ask who holds the budget" in text
    assert "record them as a stakeholder with the role budget_holder" in text
    _, text = render_task("budget_confirmation", replace(CTX, budget_holders=("Hal Holder",)))
    assert "- Budget holder: Hal Holder" in text
    assert "Ask Hal Holder whether the budget fixed on 2026-01-01" in text
    assert "Budget holder" not in render_task("kickoff", CTX)[1]


def test_active_budget_holders_reach_the_budget_task_and_are_not_key_people() -> None:
    people = (
        StakeholderFacts("s1", "Hal Holder", "budget_holder", "active"),
        StakeholderFacts("s2", "Old Holder", "budget_holder", "departed"),
    )
    facts = run(
        account(contract(), stakeholders=people),
        event("contract.created", "2026-03-01", created()),
    )
    facts = opened(facts, "budget_confirmation")
    (task,) = tasks(facts, "budget_confirmation")
    assert "- Budget holder: Hal Holder" in task.description
    assert "Old Holder" not in task.description
    data = {"id": "s1", "account_id": "a1", "role": "budget_holder", "status": "departed"}
    left = replace(facts, stakeholders=(replace(people[0], status="departed"), people[1]))
    decision = decide(left, event("stakeholder.departed", "2026-09-10", data), SETTINGS)
    assert decision.new_tasks == []


def test_contract_lines_name_external_ids_in_order() -> None:
    ctx = replace(
        CTX,
        contracts=(ContractLine("c9", (("crm", "d-9"), ("hubspot", "77")), "1.00 USD", R),),
        total_arr="1.00 USD",
    )
    assert (
        "Contract c9 (crm: d-9, hubspot: 77): 1.00 USD ARR, renews 2027-03-15"
        in (render_task("onsite_visit", ctx)[1])
    )
