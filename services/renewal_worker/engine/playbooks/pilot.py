"""Pilots and trials: the checkpoints before a contract starts (DESIGN §3.1, term 1), and
the add-on trials of more users or modules on any term."""

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
    if ctx.trial_name is not None:
        return addon_trial_ending(ctx, ctx.trial_name)
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


def addon_trial_ending(ctx: TaskContext, name: str) -> Playbook:
    """The customer tried more users or modules on a running contract: the contract goes
    on, but what the trial unlocked is blocked when it ends without an order."""
    ends = ctx.trial_end or ctx.due_date + timedelta(days=7)
    return Playbook(
        title=f"Trial of {name} at {ctx.account_name} ends on {ends}",
        why=(
            f"The trial of {name} ends on {ends}. Warning: without an order by then, "
            f"{name} is blocked in the customer's database and their users lose access to it."
        ),
        steps=(
            f"Confirm the order or the quote for {name} with {owner(ctx)} "
            "(and with the partner, when a partner sold the contract).",
            f"Tell {owner(ctx)} what happens on {ends}: without an order, {name} is "
            "blocked; agree an extension of the trial if the decision needs more time.",
            f"If they will not order, agree what happens to the work done with {name} "
            "before it is blocked.",
        ),
        done=f"Order placed or quote signed for {name} before {ends}, the trial extended, "
        "or the customer has confirmed in writing that they accept the block.",
    )
