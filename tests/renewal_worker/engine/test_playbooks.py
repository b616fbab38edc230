from dataclasses import replace
from datetime import date

import pytest

from services.renewal_worker.engine.playbooks import TASK_KINDS, TaskContext, render_task
from shared.rules.types import MARKER_KINDS, CheckpointKind, Segment

EVENT_KINDS = {
    "stakeholder_change",
    "adoption_risk",
    "expansion_opportunity",
    "goal_at_risk",
    "save_attempt",
    "renewal_at_risk",
    "winback",
}

CTX = TaskContext(
    account_name="Acme Logistics",
    contract_id="3f1c7a52-0000-4000-8000-000000000001",
    term_number=1,
    term_start=date(2026, 3, 15),
    arr="USD 12,000.00",
    segment=Segment.GROWTH,
    renewal=date(2027, 3, 15),
    due_date=date(2027, 1, 15),
    fiscal_year_start=date(2027, 1, 1),
    budget_fixed_on=date(2026, 10, 3),
    auto_renew=False,
    notice_deadline=date(2027, 2, 13),
    business_owners=("Ana Owner", "Ben Budget"),
    champions=("Cleo Champion",),
    active_users=30,
    seats=50,
    goal_name="Cut dispatch time by 20%",
    goal_status="at_risk",
    churn_reason="competitor",
    pilot_end=date(2026, 3, 1),
    trial_end=date(2026, 4, 15),
    health_signals=("low_adoption", "outreach_not_done"),
)


def text(kind: str, ctx: TaskContext = CTX) -> str:
    title, description = render_task(kind, ctx)
    return f"{title}\n{description}"


def test_every_checkpoint_and_event_kind_has_a_playbook() -> None:
    """auto_renewal opens no task: the sweep renews, auto_renewal_confirmation asks; the
    renewal markers open none either."""
    kinds = {k.value for k in CheckpointKind} - {CheckpointKind.AUTO_RENEWAL.value} - MARKER_KINDS
    assert set(TASK_KINDS) == kinds | EVENT_KINDS


@pytest.mark.parametrize("kind", sorted(TASK_KINDS))
def test_every_description_has_the_five_parts_and_the_key_facts(kind: str) -> None:
    title, description = render_task(kind, CTX)
    assert "Acme Logistics" in title
    for heading in ("**Why now:**", "**People:**", "**At stake:**", "**Steps:**", "**Done when:**"):
        assert heading in description
    for fact in ("Ana Owner", "Ben Budget", "Cleo Champion", "USD 12,000.00", "2027-03-15"):
        assert fact in description
    assert CTX.contract_id in description
    assert "1. " in description


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="no playbook"):
        render_task("coffee_break", CTX)


def test_missing_business_owner_says_so() -> None:
    description = render_task("kickoff", replace(CTX, business_owners=()))[1]
    assert "Business owner: none on record" in description


def test_pilot_review_needs_the_business_owner_not_support_and_reports_to_sales() -> None:
    body = text("pilot_review")
    assert "2026-03-01" in body
    assert "sign-off from support or IT is not enough" in body
    assert "business owner must confirm the business metrics" in body
    assert "verdict" in body
    assert "to sales" in body


def test_pilot_kickoff_agrees_goals_and_metrics() -> None:
    body = text("pilot_kickoff")
    assert "goals" in body
    assert "metric" in body


def test_budget_confirmation_names_fiscal_year_start_and_budget_fixed_date() -> None:
    body = text("budget_confirmation")
    assert "fiscal year starting 2027-01-01" in body
    assert "fixed by 2026-10-03" in body


def test_budget_fixed_before_the_term_says_so() -> None:
    ctx = replace(CTX, fiscal_year_start=date(2026, 4, 1), budget_fixed_on=date(2026, 1, 1))
    body = text("budget_confirmation", ctx)
    assert "fixed on 2026-01-01, before the contract was signed" in body
    assert "get it added before" not in body


def test_renewal_outreach_asks_for_an_in_person_meeting_before_the_notice_deadline() -> None:
    body = text("renewal_outreach")
    assert "in-person meeting before 2027-02-13" in body
    assert "59 days away" in body


def test_renewal_outreach_without_notice_period() -> None:
    body = text("renewal_outreach", replace(CTX, notice_deadline=None))
    assert "in-person meeting" in body
    assert "notice deadline" not in body


def test_self_serve_renewal_outreach_is_a_short_digital_notice() -> None:
    ctx = replace(CTX, segment=Segment.SELF_SERVE)
    title, description = render_task("renewal_outreach", ctx)
    assert "renewal notice" in title
    assert "short digital renewal notice" in description
    assert "in-person" not in description
    assert "2027-02-13" in description
    assert len(description) < len(render_task("renewal_outreach", CTX)[1])


def test_trial_ending_warns_the_database_will_be_blocked() -> None:
    body = text("trial_ending")
    assert "2026-04-15" in body
    assert "database will be blocked" in body


def test_trial_end_defaults_to_a_week_after_the_due_date() -> None:
    ctx = replace(CTX, trial_end=None, due_date=date(2026, 4, 8))
    assert "2026-04-15" in render_task("trial_ending", ctx)[0]


@pytest.mark.parametrize(
    "kind", ["implementation_check", "adoption_review", "adoption_risk", "expansion_opportunity"]
)
def test_usage_tasks_quote_the_latest_usage(kind: str) -> None:
    assert "30 of 50 seats active (60%)" in text(kind)


def test_usage_without_seats_is_not_quoted_as_a_ratio() -> None:
    body = text("implementation_check", replace(CTX, seats=0))
    assert "No usage report with seats yet" in body


@pytest.mark.parametrize("kind", ["mid_term_review", "anniversary_review"])
def test_reviews_ask_about_owners_budget_metrics_and_expansion(kind: str) -> None:
    body = text(kind)
    assert "business owners are still the same people" in body
    assert "fiscal year starting 2027-01-01" in body
    assert "expand" in body


def test_onsite_visit_meets_in_person_and_looks_for_expansion() -> None:
    body = text("onsite_visit", replace(CTX, segment=Segment.ENTERPRISE))
    assert "on-site visit" in body
    assert "executive sponsor" in body


def test_goal_at_risk_names_the_goal_and_its_status() -> None:
    body = text("goal_at_risk")
    assert "Cut dispatch time by 20%" in body
    assert "at_risk" in body


def test_winback_names_the_churn_reason() -> None:
    assert "reason: competitor" in text("winback")


def test_stakeholder_change_meets_the_new_business_owner() -> None:
    ctx = replace(
        CTX,
        stakeholder_role="business_owner",
        stakeholder_name="Ada Owner",
        stakeholder_change="Ada Owner (business owner) left; no active business owner remains",
        role_vacant=True,
    )
    body = text("stakeholder_change", ctx)
    assert "Meet the new business owner" in body
    assert "Re-align on the business goals and metrics" in body


def test_save_attempt_names_the_churn_date() -> None:
    body = text("save_attempt")
    assert "churns on 2027-03-15" in body
    assert "withdrawn" in body


def test_renewal_overdue_names_the_lapse_date() -> None:
    assert "lapses on 2027-04-14" in text("renewal_overdue")


def test_renewal_at_risk_lists_the_health_signals() -> None:
    assert "low_adoption, outreach_not_done" in text("renewal_at_risk")


def test_notice_deadline_names_the_deadline() -> None:
    assert "2027-02-13" in render_task("notice_deadline", CTX)[0]


def test_auto_renewing_contract_says_so() -> None:
    assert "renews automatically" in text("kickoff", replace(CTX, auto_renew=True))


def test_later_term_kickoff_reviews_the_last_term() -> None:
    ctx = replace(CTX, term_number=2, term_start=date(2027, 3, 15), renewal=date(2028, 3, 15))
    title, description = render_task("kickoff", ctx)
    assert "Term 2" in title
    assert "last term" in description
