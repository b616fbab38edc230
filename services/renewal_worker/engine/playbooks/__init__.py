"""Task texts: the playbook an account manager follows for each task kind.

Every description has the same five parts (DESIGN §3 "Task"), so a manager
knows where to look: why now with the data behind it, the people involved,
the ARR and dates at stake, concrete steps, and what counts as done. Dates are
ISO (YYYY-MM-DD) so they read the same in every CRM they are sent to.

The texts sit by checkpoint family, in the order of a contract's life: `pilot`
(pilots and trials), `onboarding` (the first months), `reviews` (mid-term),
`renewal` (budget to renewal date, and the win-back); `events` holds the tasks the
event rules open. `context` has what they quote and the sentences they share.
"""

from __future__ import annotations

from collections.abc import Callable

from services.renewal_worker.engine.playbooks import events, onboarding, pilot, renewal, reviews
from services.renewal_worker.engine.playbooks.context import (
    ContractLine,
    Playbook,
    TaskContext,
    people,
    stakes,
)
from shared.rules.types import CheckpointKind

__all__ = ["TASK_KINDS", "ContractLine", "TaskContext", "render_task"]

_K = CheckpointKind

_PLAYBOOKS: dict[str, Callable[[TaskContext], Playbook]] = {
    _K.PILOT_KICKOFF: pilot.pilot_kickoff,
    _K.PILOT_REVIEW: pilot.pilot_review,
    _K.TRIAL_ENDING: pilot.trial_ending,
    _K.KICKOFF: onboarding.kickoff,
    _K.IMPLEMENTATION_CHECK: onboarding.implementation_check,
    _K.IMPLEMENTATION_FOLLOWUP: onboarding.implementation_followup,
    _K.ADOPTION_REVIEW: onboarding.adoption_review,
    _K.MID_TERM_REVIEW: reviews.mid_term_review,
    _K.ANNIVERSARY_REVIEW: reviews.anniversary_review,
    _K.ONSITE_VISIT: reviews.onsite_visit,
    _K.BUDGET_CONFIRMATION: renewal.budget_confirmation,
    _K.RENEWAL_OUTREACH: renewal.renewal_outreach,
    _K.NOTICE_DEADLINE: renewal.notice_deadline,
    _K.RENEWAL_DUE: renewal.renewal_due,
    _K.RENEWAL_OVERDUE: renewal.renewal_overdue,
    _K.AUTO_RENEWAL_CONFIRMATION: renewal.auto_renewal_confirmation,
    _K.WINBACK: renewal.winback,
    "stakeholder_change": events.stakeholder_change,
    "adoption_risk": events.adoption_risk,
    "expansion_opportunity": events.expansion_opportunity,
    "goal_at_risk": events.goal_at_risk,
    "save_attempt": events.save_attempt,
    "renewal_at_risk": events.renewal_at_risk,
}

TASK_KINDS = frozenset(_PLAYBOOKS)


def partner_steps(ctx: TaskContext) -> tuple[str, ...]:
    """The partner who sold the contract knows the customer and may be doing part of
    the work: the last step keeps them in the loop, so nobody does it twice or not at
    all."""
    if ctx.partner_name is None:
        return ()
    return (
        f"Involve the partner {ctx.partner_name}: share this task with them and agree who "
        "does which step.",
    )


def render_task(kind: str, ctx: TaskContext) -> tuple[str, str]:
    """Title and markdown description for a task of ``kind``.

    An unknown kind raises ValueError: a task without a playbook would leave
    the account manager guessing. A partner-sold contract's partner is named and
    involved here, for every kind, rather than in each playbook.
    """
    build = _PLAYBOOKS.get(kind)
    if build is None:
        raise ValueError(f"no playbook for task kind {kind!r}")
    playbook = build(ctx)
    steps = "\n".join(
        f"{i}. {step}" for i, step in enumerate((*playbook.steps, *partner_steps(ctx)), start=1)
    )
    description = (
        f"**Why now:** {playbook.why}\n\n"
        f"**People:**\n{people(ctx, playbook.people)}\n\n"
        f"**At stake:**\n{stakes(ctx)}\n\n"
        f"**Steps:**\n{steps}\n\n"
        f"**Done when:** {playbook.done}\n"
    )
    return playbook.title, description
