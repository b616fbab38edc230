"""Properties of the event rules: idempotence, replay and re-dating (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointId,
    EngineEvent,
    GoalFacts,
    StakeholderFacts,
    Term,
    UsageFacts,
)
from shared.rules.calendar import add_months
from tests.renewal_worker.engine.facts import (
    SETTINGS,
    account,
    applied,
    contract,
    event,
    is_empty,
    run,
)

CREATED = {"id": "c1", "account_id": "a1"}
Row = tuple[CheckpointId, date, date, str]
ARRS = [Decimal(v) for v in ("500", "2000", "8000", "30000", "250000")]


@st.composite
def accounts(draw: st.DrawFn) -> AccountFacts:
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    months = draw(st.integers(min_value=1, max_value=60))
    renewal = add_months(start, months)
    base = contract(
        str(start),
        str(renewal),
        str(draw(st.sampled_from(ARRS))),
        auto_renew=draw(st.booleans()),
        notice_period_days=draw(st.integers(min_value=0, max_value=120)),
    )
    return account(
        base,
        fiscal_year_start_month=draw(st.none() | st.integers(min_value=1, max_value=12)),
        budget_lead_days=draw(st.integers(min_value=0, max_value=180)),
    )


def event_day(facts: AccountFacts, offset: int) -> str:
    return str(facts.contracts[0].start_date + timedelta(days=offset))


def snapshot(facts: AccountFacts) -> tuple[object, ...]:
    return (
        sorted((cp.identity, cp.due_date, cp.opens_on, cp.status) for cp in facts.checkpoints),
        sorted((t.dedupe_key, t.due_date, t.status, t.description) for t in facts.tasks),
        [(c.health_score, c.health_band) for c in facts.contracts],
    )


@given(facts=accounts(), offset=st.integers(min_value=-60, max_value=400))
def test_applying_an_event_twice_equals_applying_it_once(facts: AccountFacts, offset: int) -> None:
    created = event("contract.created", event_day(facts, offset), CREATED)
    once = run(facts, created)
    assert is_empty(decide(once, created, SETTINGS))
    assert snapshot(run(once, created)) == snapshot(once)


@given(
    facts=accounts(),
    shift_a=st.integers(min_value=-40, max_value=40),
    shift_b=st.integers(min_value=-40, max_value=40),
    extra_months=st.integers(min_value=0, max_value=12),
)
def test_redating_twice_equals_redating_once_to_the_final_dates(
    facts: AccountFacts, shift_a: int, shift_b: int, extra_months: int
) -> None:
    day = event_day(facts, -20)
    facts = run(facts, event("contract.created", day, CREATED))
    original = facts.contracts[0]

    def redated(shift: int) -> AccountFacts:
        start = original.start_date + timedelta(days=shift)
        renewal = add_months(original.renewal, extra_months) + timedelta(days=shift)
        moved = replace(
            original, start_date=start, terms=(Term(1, start, renewal, original.term.arr),)
        )
        return replace(facts, contracts=(moved,))

    def live(result: AccountFacts, opened: frozenset[CheckpointId] = frozenset()) -> list[Row]:
        return sorted(
            (
                cp.identity,
                cp.due_date,
                cp.opens_on,
                "opened" if cp.identity in opened else cp.status,
            )
            for cp in result.checkpoints
            if cp.status != "cancelled"
        )

    via_a = run(redated(shift_a), event("contract.updated", day, CREATED, eid="u1"))
    opened_by_a = frozenset(cp.identity for cp in via_a.checkpoints if cp.status == "opened")
    via_a = replace(via_a, contracts=redated(shift_b).contracts)
    twice = run(via_a, event("contract.updated", day, CREATED, eid="u2"))
    once = run(redated(shift_b), event("contract.updated", day, CREATED, eid="u2"))
    # A renewal outreach the first re-dating opened (already due, R ahead) stays opened.
    assert live(twice) == live(once, opened_by_a)


@given(
    facts=accounts(),
    ratios=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=5),
    goal_statuses=st.lists(
        st.sampled_from(["on_track", "at_risk", "missed", "achieved"]), max_size=4
    ),
    departs=st.booleans(),
)
def test_replaying_the_whole_log_changes_nothing(
    facts: AccountFacts, ratios: list[int], goal_statuses: list[str], departs: bool
) -> None:
    start = facts.contracts[0].start_date
    log: list[tuple[EngineEvent, AccountFacts]] = []
    facts = run(facts, event("contract.created", str(start), CREATED))
    for index, active in enumerate(ratios):
        day = start + timedelta(days=35 + 10 * index)
        facts = replace(facts, latest_usage={"c1": UsageFacts("c1", active, 10, day)})
        item = event(
            "usage.reported", str(day), {"contract_id": "c1", "account_id": "a1"}, f"u{index}"
        )
        facts = run(facts, item)
        log.append((item, facts))
    for index, status in enumerate(goal_statuses):
        facts = replace(facts, goals=(GoalFacts("g1", "c1", "Goal", status),))
        data = {"id": "g1", "contract_id": "c1", "account_id": "a1", "status": status}
        item = event("goal.updated", str(start + timedelta(days=100 + index)), data, f"g{index}")
        facts = run(facts, item)
        log.append((item, facts))
    if departs:
        facts = replace(
            facts, stakeholders=(StakeholderFacts("s1", "Ada", "business_owner", "departed"),)
        )
        data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
        item = event("stakeholder.departed", str(start + timedelta(days=150)), data, "s")
        facts = run(facts, item)
        log.append((item, facts))
    final = snapshot(facts)
    for item, _ in log:
        decision = decide(facts, item, SETTINGS)
        assert decision.new_tasks == []
        facts = applied(facts, decision)
    assert snapshot(facts)[:2] == final[:2]
