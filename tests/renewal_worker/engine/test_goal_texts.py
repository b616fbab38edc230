"""Every checkpoint task of a contract lists its goals by name, target and status, so the
account manager reviews each one; a contract without goals is told to get some."""

from dataclasses import replace

import pytest

from services.renewal_worker.engine.playbooks import render_task
from services.renewal_worker.engine.playbooks.context import GoalLine
from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import CheckpointFacts, GoalFacts
from shared.rules.types import Segment
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, d, event
from tests.renewal_worker.engine.test_playbooks import CTX

GOAL_KINDS = [
    "pilot_review",
    "adoption_review",
    "mid_term_review",
    "anniversary_review",
    "onsite_visit",
    "renewal_outreach",
    "budget_confirmation",
]

GOALS = (
    GoalLine("Cut dispatch time", "20% less than in 2025", "at_risk"),
    GoalLine("Weekly active teams", "12 teams by June", "on_track"),
)


@pytest.mark.parametrize("kind", GOAL_KINDS)
def test_checkpoint_task_lists_every_goal_with_its_target_and_status(kind: str) -> None:
    description = render_task(kind, replace(CTX, goals=GOALS))[1]
    assert "- Cut dispatch time (target: 20% less than in 2025): at risk" in description
    assert "- Weekly active teams (target: 12 teams by June): on track" in description
    assert "No goal is recorded yet" not in description


@pytest.mark.parametrize("kind", GOAL_KINDS)
def test_checkpoint_task_without_goals_says_so_and_asks_to_record_them(kind: str) -> None:
    description = render_task(kind, replace(CTX, goals=()))[1]
    assert (
        "No goal is recorded yet: agree the business goals, each with a measurable target, "
        "with Ana Owner, Ben Budget and record them on the contract."
    ) in description


def test_self_serve_renewal_notice_lists_goals_only_when_there_are_some() -> None:
    self_serve = replace(CTX, segment=Segment.SELF_SERVE)
    assert "No goal is recorded yet" not in render_task("renewal_outreach", self_serve)[1]
    listed = render_task("renewal_outreach", replace(self_serve, goals=GOALS))[1]
    assert "- Weekly active teams (target: 12 teams by June): on track" in listed


def test_goal_at_risk_still_names_its_own_goal() -> None:
    title, description = render_task("goal_at_risk", replace(CTX, goals=GOALS))
    assert title.endswith(": Cut dispatch time by 20%")
    assert "Goal 'Cut dispatch time by 20%' is at_risk." in description


def test_the_engine_gives_a_checkpoint_task_its_own_contracts_goals_in_order() -> None:
    goals = (
        GoalFacts("g1", "c1", "Cut dispatch time", "at_risk", "20% less than in 2025"),
        GoalFacts("g2", "c2", "Other contract's goal", "on_track", "anything"),
        GoalFacts("g3", "c1", "Weekly active teams", "achieved", "12 teams by June"),
    )
    due = CheckpointFacts("c1", 1, "mid_term_review", 0, d("2026-09-13"), d("2026-09-06"), "opened")
    facts = account(contract(), contract(cid="c2"), checkpoints=(due,), goals=goals)
    data = {"contract_id": "c1", "term": 1, "kind": "mid_term_review", "ordinal": 0}
    decision = decide(facts, event("checkpoint.due", "2026-09-06", data), SETTINGS)
    (task,) = decision.new_tasks
    assert (
        "Goals:\n- Cut dispatch time (target: 20% less than in 2025): at risk\n"
        "- Weekly active teams (target: 12 teams by June): achieved\n"
    ) in task.description
    assert "Other contract's goal" not in task.description
