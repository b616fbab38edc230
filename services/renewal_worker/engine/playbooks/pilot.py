"""Pilots and trials: the checkpoints before a contract starts (DESIGN §3.1, term 1)."""

from __future__ import annotations

from datetime import timedelta

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    goals,
    meet,
    owner,
    usage,
)


def pilot_kickoff(ctx: TaskContext) -> Playbook:
    ends = f" It ends on {ctx.pilot_end}." if ctx.pilot_end else ""
    return Playbook(
        title=f"Pilot kickoff with {ctx.account_name}: agree goals and metrics",
        why=(
            "The pilot has just started." + ends + " Without business goals and metrics "
            "agreed now, nobody can say at the end whether it worked."
        ),
        steps=(
            f"{meet(ctx, owner(ctx))} and agree the business goals of the pilot.",
            "For each goal write down a measurable metric, its target and how it is measured.",
            "Agree the review date and who decides go or no-go.",
            "Record the goals on the contract.",
        ),
        done="Goals and metrics agreed in writing with the business owner and recorded.",
    )


def pilot_review(ctx: TaskContext) -> Playbook:
    ends = f"The pilot ends on {ctx.pilot_end}" if ctx.pilot_end else "The pilot is ending"
    return Playbook(
        title=f"Pilot review with the business owner of {ctx.account_name}",
        why=f"{ends}; review it against the agreed metrics. {usage(ctx)} {goals(ctx)}",
        steps=(
            f"{meet(ctx, owner(ctx))} and go through every business metric against its target.",
            "A sign-off from support or IT is not enough: the business owner must confirm "
            "the business metrics were met.",
            "Decide go or no-go, with the reasons.",
            "Report the verdict and the metric results to sales.",
        ),
        done="The business owner's verdict, with the metric results, is reported to sales.",
    )


def trial_ending(ctx: TaskContext) -> Playbook:
    ends = ctx.trial_end or ctx.due_date + timedelta(days=7)
    return Playbook(
        title=f"Trial of {ctx.account_name} ends on {ends}",
        why=(
            f"The trial ends on {ends}. Warning: when it ends without a contract, "
            "the customer's database will be blocked and their users lose access."
        ),
        steps=(
            f"Tell {owner(ctx)} the date and that the database will be blocked.",
            "Get the contract signed, or agree an extension of the trial.",
            "If they will not continue, agree what happens to their data before the block.",
        ),
        done=f"Contract signed or trial extended before {ends}, or the customer has "
        "confirmed in writing that they accept the block.",
    )
