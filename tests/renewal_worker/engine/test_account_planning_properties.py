"""Account-level work (budget confirmations, on-site visits) is the same whatever order an
account's contracts arrive in, opens one task per account and day, and a redelivered
event changes nothing (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import AccountFacts, ContractFacts
from shared.rules.calendar import add_months
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, event, is_empty, run

ACCOUNT_KINDS = ("budget_confirmation", "onsite_visit")


@st.composite
def contracts(draw: st.DrawFn) -> tuple[ContractFacts, ...]:
    first = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))
    found: list[ContractFacts] = []
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        start = first + timedelta(days=draw(st.integers(min_value=0, max_value=120)))
        renewal = add_months(start, draw(st.sampled_from([6, 12, 24, 36])))
        arr = draw(st.sampled_from(["8000", "40000", "70000"]))
        found.append(contract(str(start), str(renewal), arr, cid=f"c{n + 1}"))
    return tuple(found)


def opened_all(facts: AccountFacts) -> AccountFacts:
    """A sweep per opening day, in the order the scheduler reads rows (day, then row)."""
    for _ in range(40):
        due = sorted(
            (cp for cp in facts.checkpoints if cp.status == "planned" and cp.kind in ACCOUNT_KINDS),
            key=lambda cp: (cp.opens_on, cp.identity),
        )
        if not due:
            return facts
        cp = due[0]
        facts = replace(
            facts,
            checkpoints=tuple(
                replace(c, status="opened") if c is cp else c for c in facts.checkpoints
            ),
        )
        data = {"contract_id": cp.contract_id, "account_id": "a1", "term": cp.term}
        data |= {"kind": cp.kind, "ordinal": cp.ordinal}
        item = event("checkpoint.due", str(cp.opens_on), data, eid=f"due-{cp.identity}")
        facts = run(facts, item)
        assert is_empty(replace(decide(facts, item, SETTINGS), health=[]))
    raise AssertionError("the sweeps did not settle")


def account_tasks(facts: AccountFacts) -> list[tuple[str, str, date, str, str]]:
    return sorted(
        (t.dedupe_key, t.contract_id, t.due_date, t.status, t.description)
        for t in facts.tasks
        if t.kind in ACCOUNT_KINDS
    )


@given(
    found=contracts(),
    order=st.randoms(use_true_random=False),
    fiscal=st.none() | st.integers(min_value=1, max_value=12),
)
def test_the_order_contracts_arrive_in_changes_no_account_task(
    found: tuple[ContractFacts, ...], order: object, fiscal: int | None
) -> None:
    base = account(*found, fiscal_year_start_month=fiscal)
    day = str(min(c.start_date for c in found) - timedelta(days=20))
    events = [event("contract.created", day, {"id": c.id, "account_id": "a1"}, c.id) for c in found]
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    results = [opened_all(run(base, *sequence)) for sequence in (events, shuffled)]
    assert account_tasks(results[0]) == account_tasks(results[1])
    final = results[0]
    assert is_empty(replace(decide(final, events[-1], SETTINGS), health=[]))
    open_days = [
        (t.kind, t.due_date) for t in final.tasks if t.kind in ACCOUNT_KINDS and t.status == "open"
    ]
    assert len(open_days) == len(set(open_days))
    for task in final.tasks:
        if task.kind == "budget_confirmation":
            listed = {c.id for c in found if f"Contract {c.id}:" in task.description}
            rows = {
                cp.contract_id
                for cp in final.checkpoints
                if cp.kind == "budget_confirmation" and cp.due_date == task.due_date
            }
            assert listed == rows
    total = sum((c.term.arr for c in found), Decimal(0))
    if total < 100_000:
        assert not any(cp.kind == "onsite_visit" for cp in final.checkpoints)
