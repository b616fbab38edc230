"""Tasks the event rules open (DESIGN §3.2), rather than the checkpoint plan."""

from __future__ import annotations

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    days_to_renewal,
    goal,
    meet,
    names,
    owner,
    usage,
)

_ROLE_AT_STAKE = {
    "business_owner": "The person who owns the business outcome may no longer be there to "
    "renew it.",
    "champion": "Nobody may be left to drive adoption and speak for the product inside the "
    "customer.",
    "executive_sponsor": "The renewal may have lost its backing at the top.",
}


def stakeholder_change(ctx: TaskContext) -> Playbook:
    """Told by the role that changed: a vacant role needs its successor found before
    anyone can be met; otherwise the account manager meets whoever holds it now."""
    role = (ctx.stakeholder_role or "key stakeholder").replace("_", " ")
    change = ctx.stakeholder_change or f"A {role} left or changed role"
    at_stake = _ROLE_AT_STAKE.get(
        ctx.stakeholder_role or "", "The people this renewal depends on have changed."
    )
    if ctx.role_vacant:
        first: tuple[str, ...] = (
            f"Find the successor: ask your contacts at {ctx.account_name} who is the {role} "
            "now, and record them as a stakeholder.",
            f"{meet(ctx, f'the new {role}')}: introduce the product and the results so far.",
        )
        done = f"The new {role} recorded and met; goals and metrics re-confirmed and recorded."
    else:
        holders = f"{names(ctx.role_holders)} ({role} now)" if ctx.role_holders else None
        first = (
            f"{meet(ctx, holders or f'the {role}')}: introduce the product and the results so far.",
        )
        done = f"Met the {role}; goals and metrics re-confirmed and recorded."
    person = f": {ctx.stakeholder_name}" if ctx.stakeholder_name else ""
    return Playbook(
        title=f"{role.capitalize()} change at {ctx.account_name}{person}",
        why=f"{change}. {at_stake} {days_to_renewal(ctx)}",
        steps=(*first, "Re-align on the business goals and metrics."),
        done=done,
    )


def adoption_risk(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Low adoption at {ctx.account_name}",
        why=f"Fewer than half of the seats are in use. {usage(ctx)}",
        steps=(
            "Ask the champion which teams are not using it, and why.",
            "Set up training or fix the blockers.",
            f"Report the plan to {owner(ctx)}.",
        ),
        done="At least 60% of seats active (the task then closes by itself).",
    )


def expansion_opportunity(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Expansion opportunity at {ctx.account_name}",
        why=f"Nearly every seat is in use. {usage(ctx)}",
        steps=(
            f"Ask {owner(ctx)} who else needs access.",
            "Propose more seats, other branches or more modules.",
        ),
        done="Expansion proposal discussed and its outcome recorded.",
    )


def goal_at_risk(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Goal at risk at {ctx.account_name}: {ctx.goal_name or 'unnamed goal'}",
        why=f"{goal(ctx)} {days_to_renewal(ctx)}",
        steps=(
            f"Review the goal with {owner(ctx)}: what blocks it?",
            "Agree a recovery plan with dates, or a revised target.",
        ),
        done="Goal back on track or achieved (the task then closes by itself), or a revised "
        "target agreed.",
    )


def save_attempt(ctx: TaskContext) -> Playbook:
    if ctx.notice_late:
        return _late_save_attempt(ctx)
    return Playbook(
        title=f"Save {ctx.account_name}: cancellation notice received",
        why=f"The customer gave notice; the contract churns on {ctx.renewal} unless the "
        "notice is withdrawn or the contract is renewed.",
        steps=(
            f"Call {owner(ctx)} within three days and find the real reason.",
            "Offer what addresses it: training, a different plan, a fix.",
            "If they stay, record the withdrawal of the notice or the renewal.",
        ),
        done="Notice withdrawn or contract renewed, or the churn reason recorded.",
    )


def _late_save_attempt(ctx: TaskContext) -> Playbook:
    """With no notice period the deadline is R itself."""
    deadline = ctx.notice_deadline or ctx.renewal
    received = ctx.notice_received_on or ctx.due_date
    how = "the contract renews automatically" if ctx.auto_renew else "record the renewal"
    return Playbook(
        title=f"Save {ctx.account_name}: late cancellation notice received",
        why=f"The customer gave notice on {received}, after the notice deadline of "
        f"{deadline}. By the contract's terms it comes too late to stop the renewal on "
        f"{ctx.renewal}: {how}, unless you accept the cancellation (record the churn) or "
        "the customer withdraws the notice.",
        steps=(
            f"Call {owner(ctx)} within three days and find the real reason.",
            f"Tell them the notice came after the {deadline} deadline, so the contract "
            "renews by its terms.",
            "Offer what addresses the reason: training, a different plan, a fix.",
            "Record the outcome: the withdrawal of the notice, or, if you accept the "
            "cancellation, the churn with its reason.",
        ),
        done="Notice withdrawn or the contract renewed, or the cancellation accepted and the "
        "churn recorded.",
    )


def renewal_at_risk(ctx: TaskContext) -> Playbook:
    signals = ", ".join(ctx.health_signals) if ctx.health_signals else "see the contract"
    return Playbook(
        title=f"Renewal of {ctx.account_name} at risk",
        why=f"Health is red ({signals}). {days_to_renewal(ctx)}",
        steps=(
            "Address each health signal with an owner and a date.",
            f"{meet(ctx, owner(ctx), decisive=True)}.",
            "Tell your manager and sales.",
        ),
        done="A recovery plan agreed with the business owner and the signals addressed.",
    )
