"""A cancellation notice received after R - notice_period_days: the save attempt is still
urgent and due in 3 days, but says the notice came late and what that means."""

from __future__ import annotations

from dataclasses import replace

from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import CheckpointFacts
from shared.rules.types import Priority
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, d, event

CREATED = {"id": "c1", "account_id": "a1"}


def save_attempt(**fields: object) -> tuple[str, str, Priority, str]:
    noticed = contract(cancellation_notice_on=d("2027-02-20"), **fields)
    decision = decide(
        account(noticed), event("contract.cancellation_noticed", "2027-02-21", CREATED), SETTINGS
    )
    (task,) = decision.new_tasks
    assert task.kind == "save_attempt"
    return task.title, task.description, task.priority, str(task.due_date)


def test_a_late_notice_names_the_deadline_and_says_the_contract_renews() -> None:
    title, description, priority, due = save_attempt(
        notice_period_days=30, auto_renew=True, cancellation_notice_late=True
    )
    assert (priority, due) == (Priority.URGENT, "2027-02-24")
    assert title == "Save Globex: late cancellation notice received"
    assert (
        "The customer gave notice on 2027-02-20, after the notice deadline of 2027-02-13. "
        "By the contract's terms it comes too late to stop the renewal on 2027-03-15: the "
        "contract renews automatically, unless you accept the cancellation (record the churn) "
        "or the customer withdraws the notice." in description
    )
    assert "churns on" not in description


def test_a_late_notice_on_a_contract_renewed_by_hand_asks_for_the_renewal() -> None:
    _, description, _, _ = save_attempt(notice_period_days=30, cancellation_notice_late=True)
    assert "too late to stop the renewal on 2027-03-15: record the renewal, unless" in description


def test_without_a_notice_period_the_deadline_is_r() -> None:
    _, description, _, _ = save_attempt(cancellation_notice_late=True)
    assert "after the notice deadline of 2027-03-15" in description


def test_a_notice_in_time_still_says_the_contract_churns_at_r() -> None:
    title, description, _, _ = save_attempt(notice_period_days=30)
    assert title == "Save Globex: cancellation notice received"
    assert "the contract churns on 2027-03-15 unless the notice is withdrawn" in description


def test_the_auto_renewal_confirmation_says_a_late_notice_does_not_stop_it() -> None:
    facts = account(contract(auto_renew=True))
    kind = "auto_renewal_confirmation"
    data = {"contract_id": "c1", "account_id": "a1", "term": 1, "kind": kind, "ordinal": 0}
    checkpoint = CheckpointFacts("c1", 1, kind, 0, d("2027-03-01"), d("2027-02-15"), "opened")
    decision = decide(
        replace(facts, checkpoints=(checkpoint,)),
        event("checkpoint.due", "2027-02-15", data),
        SETTINGS,
    )
    (task,) = [t for t in decision.new_tasks if t.kind == kind]
    assert "a cancellation notice given in time is pending (a late one" in task.description


def test_the_auto_renewal_checkpoint_opens_no_task() -> None:
    facts = account(contract(auto_renew=True))
    data = {"contract_id": "c1", "account_id": "a1", "term": 1, "kind": "auto_renewal"}
    checkpoint = CheckpointFacts(
        "c1", 1, "auto_renewal", 0, d("2027-03-15"), d("2027-03-15"), "opened"
    )
    decision = decide(
        replace(facts, checkpoints=(checkpoint,)),
        event("checkpoint.due", "2027-03-15", data | {"ordinal": 0}),
        SETTINGS,
    )
    assert decision.new_tasks == []
