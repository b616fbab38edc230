"""Mid-term: the reviews and visits that ask whether the renewal is on course."""

from __future__ import annotations

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    days_to_renewal,
    goals,
    meet,
    meeting,
    owner,
    usage,
)


def review_steps(ctx: TaskContext) -> tuple[str, ...]:
    budget = (
        f"Confirm the fiscal year starting {ctx.fiscal_year_start} and whether the renewal "
        f"is in its budget, fixed by {ctx.budget_fixed_on}."
        if ctx.fiscal_year_start is not None
        else "Find out when the customer's fiscal year starts and how many days before it "
        "their budget is fixed; record both on the account, and ask whether the renewal "
        "is in the budget that pays it."
    )
    return (
        "Check that the business owners are still the same people; record any change.",
        budget,
        "Review the metrics: are the goals met, are users happy?",
        "Look for room to expand: more seats, branches, modules.",
    )


def mid_term_review(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Mid-term review with {ctx.account_name}",
        why=f"Half the term is gone. {days_to_renewal(ctx)} {usage(ctx)} {goals(ctx)}",
        steps=(f"{meet(ctx, owner(ctx))}.", *review_steps(ctx)),
        done="Stakeholders, budget status, goal status and expansion ideas recorded.",
    )


def anniversary_review(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Anniversary review with {ctx.account_name}",
        why=f"Another contract year is over. {days_to_renewal(ctx)} {usage(ctx)} {goals(ctx)}",
        steps=(f"{meet(ctx, owner(ctx))} to review the year.", *review_steps(ctx)),
        done="Stakeholders, budget status, goal status and expansion ideas recorded.",
    )


def onsite_visit(ctx: TaskContext) -> Playbook:
    visit = meeting(ctx)
    return Playbook(
        title=f"{visit.title} with {ctx.account_name}",
        why=f"Twice a year this customer gets {visit.noun} to review the results. {usage(ctx)} "
        f"{goals(ctx)}",
        steps=(
            f"Book {visit.noun} with {owner(ctx)} and the executive sponsor.",
            "Present the results against the goals, with usage figures.",
            "Talk to users; collect what works and what does not.",
            "Look for expansion: more seats, other branches, more modules.",
        ),
        done=f"{visit.title} held; notes, stakeholder changes and expansion leads recorded.",
    )
