"""From the budget to the renewal date, and the win-back after a churn."""

from __future__ import annotations

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    days_to_renewal,
    fiscal_year_question,
    goals,
    meeting,
    names,
    owner,
    usage,
)
from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import Segment

ORGANISATION_MAPPED = frozenset({Segment.ENTERPRISE, Segment.MID_MARKET})
"""Segments whose renewal is signed, used and paid for by different people: the outreach
maps who does which before the meeting."""


def budget_confirmation(ctx: TaskContext) -> Playbook:
    """Who to ask and what to ask depend on what is known: the fiscal year may be
    unknown, and a budget fixed before the term began can no longer take the renewal
    the usual way, so the task offers what can still be done."""
    renewals = _renewals(ctx)
    amount = ctx.total_arr or ctx.arr
    who = names(ctx.budget_holders) if ctx.budget_holders else owner(ctx)
    holder = "Budget holder: " + (
        names(ctx.budget_holders)
        if ctx.budget_holders
        else "none on record - ask who holds the budget"
    )
    find_holder = (
        ()
        if ctx.budget_holders
        else (
            f"Ask {owner(ctx)} who holds the budget and record them as a stakeholder with "
            "the role budget_holder.",
        )
    )
    title = f"Confirm the renewal is in {ctx.account_name}'s budget"
    if ctx.fiscal_year_start is None or ctx.budget_fixed_on is None:
        return Playbook(
            title=title,
            why=f"The customer's budget has to include {renewals} ({amount}), and nobody has "
            "recorded when their fiscal year starts, so nobody knows when that budget is "
            "fixed. Ask now, while there is time to get the renewal into it. "
            f"{goals(ctx)}",
            steps=(
                *fiscal_year_question(ctx),
                f"Ask {who} whether the budget that will pay for {renewals} covers "
                f"{amount}; if not, get it added before that budget is fixed, with any "
                "planned expansion.",
                *find_holder,
            ),
            done="The customer's fiscal year start is recorded on the account, and the "
            f"budget holder confirmed in writing that the budget includes {renewals}.",
            people=(holder,),
        )
    fys, fixed_on = ctx.fiscal_year_start, ctx.budget_fixed_on
    if fixed_on < ctx.due_date:
        before = (
            "before the contract was signed"
            if ctx.term_number == 1
            else "before this term began"
            if fixed_on < ctx.term_start
            else "in the first days of this term"
        )
        return Playbook(
            title=title,
            why=f"The customer pays {renewals} from the fiscal year starting {fys}, whose "
            f"budget was fixed on {fixed_on}, {before}: it may well not include the "
            f"renewal, and that budget can no longer simply be amended. {goals(ctx)}",
            steps=(
                f"Ask {who} whether the budget fixed on {fixed_on} includes {renewals} "
                f"({amount}) anyway.",
                "If it does not, agree one of the real options: a mid-year reallocation "
                "within that budget; paying the renewal from this year's budget; or "
                "aligning the next term's dates with the customer's fiscal year (it starts "
                f"on the 1st of {fys:%B}), so that the next renewal is budgeted in time.",
                "Record the option agreed, who decides it and by when.",
                *find_holder,
            ),
            done=f"The budget holder confirmed in writing how {renewals} is paid: from "
            f"the budget fixed on {fixed_on}, by a mid-year reallocation, from this "
            "year's budget, or with the next term aligned with the fiscal year.",
            people=(holder,),
        )
    return Playbook(
        title=title,
        why=f"The customer pays {renewals} from the fiscal year starting {fys}. That budget "
        f"is fixed by {fixed_on}. {goals(ctx)}",
        steps=(
            f"Ask {who} whether the budget for the fiscal year starting {fys} includes "
            f"{renewals} ({amount}).",
            f"If not, get it added before {fixed_on}, with any planned expansion.",
            *find_holder,
        ),
        done=f"The budget holder confirmed in writing that the budget for the fiscal year "
        f"starting {fys} includes {renewals}.",
        people=(holder,),
    )


def _renewals(ctx: TaskContext) -> str:
    if len(ctx.contracts) > 1:
        return f"the renewals of the {len(ctx.contracts)} contracts listed under At stake"
    return f"the renewal on {ctx.renewal}"


def renewal_outreach(ctx: TaskContext) -> Playbook:
    notice = (
        f" The cancellation notice deadline is {ctx.notice_deadline}: hold the meeting before it."
        if ctx.notice_deadline
        else ""
    )
    if ctx.segment is Segment.SELF_SERVE:
        recorded = f" {goals(ctx)}" if ctx.goals else ""
        return Playbook(
            title=f"Send the renewal notice to {ctx.account_name}",
            why=f"The contract renews on {ctx.renewal}.{notice}{recorded}",
            steps=(
                "Send a short digital renewal notice (e-mail or in-app): renewal date, "
                "price and how to change or cancel.",
            ),
            done="Renewal notice sent.",
        )
    renewal_meeting = meeting(ctx, decisive=True)
    organisation = (
        (
            f"Map {ctx.account_name}'s organisation: who signs the renewal, who uses the "
            "product, who pays for it; record each of them as a stakeholder.",
        )
        if ctx.segment in ORGANISATION_MAPPED
        else ()
    )
    return Playbook(
        title=f"Open the renewal with {ctx.account_name}: book {renewal_meeting.noun}",
        why=f"Two months before renewal is the time to start, not two weeks. "
        f"{days_to_renewal(ctx)}{notice} {usage(ctx)} {goals(ctx)}",
        steps=(
            f"Contact {owner(ctx)} and ask for {renewal_meeting.noun}"
            + (f" before {ctx.notice_deadline}." if ctx.notice_deadline else "."),
            *organisation,
            "Prepare the results of this term: usage, goals met, value delivered.",
            "Check the renewal is in the customer's budget.",
            "Bring an expansion proposal if usage supports it.",
        ),
        done=f"{renewal_meeting.title} for the renewal booked with the business owner.",
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


def auto_renewal_confirmation(ctx: TaskContext) -> Playbook:
    notice = (
        f" The customer's last day to give notice is {ctx.notice_deadline}."
        if ctx.notice_deadline
        else ""
    )
    return Playbook(
        title=f"Confirm the automatic renewal of {ctx.account_name} on {ctx.renewal}",
        why=f"The contract renews automatically on {ctx.renewal} for the same length and "
        f"ARR ({ctx.arr}) unless a cancellation notice given in time is pending (a late one "
        f"does not stop it).{notice} Two weeks ahead there is still time to get the invoice "
        "and the price right and tell the customer.",
        steps=(
            "Check the invoice for the new term: amount, billing contact, and a purchase "
            "order number if the customer needs one.",
            f"Confirm the price for the new term ({ctx.arr} in this term), with any agreed "
            "increase or change of seats.",
            f"Tell {owner(ctx)} that the contract renews on {ctx.renewal}, at what price and "
            "for how long.",
        ),
        done=f"Invoice checked, the price for the new term confirmed, and the customer "
        f"informed of the renewal on {ctx.renewal}.",
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
