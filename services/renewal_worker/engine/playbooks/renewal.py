"""From the budget to the renewal date, and the win-back after a churn."""

from __future__ import annotations

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    days_to_renewal,
    owner,
    usage,
)
from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import Segment


def budget_confirmation(ctx: TaskContext) -> Playbook:
    if ctx.budget_fixed_on < ctx.term_start:
        timing = (
            f"The budget that pays this renewal was fixed on {ctx.budget_fixed_on}, "
            "before this term began, so confirm now that it includes the renewal."
        )
    else:
        timing = f"That budget is fixed by {ctx.budget_fixed_on}."
    return Playbook(
        title=f"Confirm the renewal is in {ctx.account_name}'s budget",
        why=f"The renewal on {ctx.renewal} is paid from the fiscal year starting "
        f"{ctx.fiscal_year_start}. {timing}",
        steps=(
            f"Ask {owner(ctx)} whether the renewal ({ctx.arr}) is in the budget for the "
            f"fiscal year starting {ctx.fiscal_year_start}.",
            f"If not, get it added before {ctx.budget_fixed_on}, with any planned expansion.",
            "Ask who approves the budget and record them as a stakeholder.",
        ),
        done=f"The business owner confirmed in writing that the renewal is in the budget "
        f"for the fiscal year starting {ctx.fiscal_year_start}.",
    )


def renewal_outreach(ctx: TaskContext) -> Playbook:
    notice = (
        f" The cancellation notice deadline is {ctx.notice_deadline}: hold the meeting before it."
        if ctx.notice_deadline
        else ""
    )
    if ctx.segment is Segment.SELF_SERVE:
        return Playbook(
            title=f"Send the renewal notice to {ctx.account_name}",
            why=f"The contract renews on {ctx.renewal}.{notice}",
            steps=(
                "Send a short digital renewal notice (e-mail or in-app): renewal date, "
                "price and how to change or cancel.",
            ),
            done="Renewal notice sent.",
        )
    return Playbook(
        title=f"Open the renewal with {ctx.account_name}: book an in-person meeting",
        why=f"Two months before renewal is the time to start, not two weeks. "
        f"{days_to_renewal(ctx)}{notice} {usage(ctx)}",
        steps=(
            f"Contact {owner(ctx)} and ask for an in-person meeting"
            + (f" before {ctx.notice_deadline}." if ctx.notice_deadline else "."),
            "Prepare the results of this term: usage, goals met, value delivered.",
            "Check the renewal is in the customer's budget.",
            "Bring an expansion proposal if usage supports it.",
        ),
        done="In-person renewal meeting booked with the business owner.",
    )


def notice_deadline(ctx: TaskContext) -> Playbook:
    # The checkpoint is due on the deadline itself.
    deadline = ctx.notice_deadline or ctx.due_date
    return Playbook(
        title=f"Cancellation notice deadline for {ctx.account_name}: {deadline}",
        why=f"Until {deadline} the customer can cancel the renewal on {ctx.renewal}.",
        steps=(
            f"Confirm with {owner(ctx)} that they intend to renew.",
            "If they hesitate, find out why and act now, before the deadline passes.",
        ),
        done="The business owner confirmed the renewal, or a cancellation was handled.",
    )


def renewal_due(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Renewal of {ctx.account_name} due on {ctx.renewal}",
        why=f"The renewal is two weeks away and not recorded yet. {days_to_renewal(ctx)}",
        steps=(
            f"Get the signed renewal from {owner(ctx)}.",
            "Record the renewal with its new end date and ARR.",
        ),
        done="Renewal recorded.",
    )


def renewal_overdue(ctx: TaskContext) -> Playbook:
    lapses = ctx.renewal + LAPSE_GRACE
    return Playbook(
        title=f"Renewal of {ctx.account_name} is overdue",
        why=f"The renewal date {ctx.renewal} passed without a recorded renewal; "
        f"the contract lapses on {lapses}.",
        steps=(
            f"Call {owner(ctx)} today.",
            "Escalate to your manager if there is no answer within two days.",
            "Record the renewal, or the churn with its reason.",
        ),
        done="Renewal or churn recorded.",
    )


def auto_renewal(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"{ctx.account_name} renews automatically on {ctx.renewal}",
        why="The contract renews for the same length and ARR unless it churned or a "
        "cancellation notice given in time is pending (a late one does not stop it).",
        steps=(
            f"Let {owner(ctx)} know the contract has renewed.",
            "Check the new term's dates and ARR.",
        ),
        done="Customer informed and the new term checked.",
    )


def winback(ctx: TaskContext) -> Playbook:
    reason = ctx.churn_reason or "not recorded"
    return Playbook(
        title=f"Win back {ctx.account_name}",
        why=f"The customer left six months ago (reason: {reason}). Situations change: "
        "new people, new budget, a gap the replacement did not fill.",
        steps=(
            f"Check whether the reason ({reason}) still holds.",
            f"Contact {owner(ctx)} or their successor.",
            "Offer a conversation about what has changed on both sides.",
        ),
        done="Conversation held and the outcome recorded.",
    )
