"""Task texts: the playbook an account manager follows for each task kind.

Every description has the same five parts (DESIGN §3 "Task"), so a manager
knows where to look: why now with the data behind it, the people involved,
the ARR and dates at stake, concrete steps, and what counts as done. Dates are
ISO (YYYY-MM-DD) so they read the same in every CRM they are sent to.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import CheckpointKind, Segment

_K = CheckpointKind


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What the texts quote; the caller gathers it, the engine only formats it.

    ``arr`` is preformatted (currency and separators) because formatting money
    is the deployment's concern. ``budget_fixed_on`` is FYS(R) minus the
    account's budget lead days. ``pilot_end`` and ``trial_end`` are only
    needed by the pilot and trial texts, ``health_signals`` by renewal_at_risk.
    """

    account_name: str
    contract_id: str
    term_number: int
    term_start: date
    arr: str
    segment: Segment
    renewal: date
    due_date: date
    fiscal_year_start: date
    budget_fixed_on: date
    auto_renew: bool
    notice_deadline: date | None = None
    business_owners: tuple[str, ...] = ()
    champions: tuple[str, ...] = ()
    active_users: int | None = None
    seats: int | None = None
    goal_name: str | None = None
    goal_status: str | None = None
    churn_reason: str | None = None
    pilot_end: date | None = None
    trial_end: date | None = None
    health_signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Playbook:
    title: str
    why: str
    steps: tuple[str, ...]
    done: str


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _owner(ctx: TaskContext) -> str:
    return _names(ctx.business_owners) if ctx.business_owners else "the business owner"


def _usage(ctx: TaskContext) -> str:
    if ctx.active_users is None or not ctx.seats:
        return "No usage report with seats yet."
    share = ctx.active_users / ctx.seats
    return f"Latest usage: {ctx.active_users} of {ctx.seats} seats active ({share:.0%})."


def _days_to_renewal(ctx: TaskContext) -> str:
    days = (ctx.renewal - ctx.due_date).days
    if days >= 0:
        return f"On the due date the renewal ({ctx.renewal}) is {days} days away."
    return f"The renewal date {ctx.renewal} passed {-days} days before the due date."


def _goal(ctx: TaskContext) -> str:
    if ctx.goal_name is None:
        return "No goal is recorded yet."
    return f"Goal '{ctx.goal_name}' is {ctx.goal_status or 'without a status'}."


def _people(ctx: TaskContext) -> str:
    lines = [
        "Business owner: "
        + (
            _names(ctx.business_owners)
            if ctx.business_owners
            else "none on record - find out who owns the outcome"
        ),
        "Champion: " + (_names(ctx.champions) if ctx.champions else "none on record"),
    ]
    return "\n".join(f"- {line}" for line in lines)


def _stakes(ctx: TaskContext) -> str:
    lines = [
        f"ARR at stake: {ctx.arr} ({ctx.segment.value.replace('_', ' ')} segment)",
        f"Term {ctx.term_number}: {ctx.term_start} to {ctx.renewal}"
        + (" (renews automatically)" if ctx.auto_renew else ""),
    ]
    if ctx.notice_deadline is not None:
        lines.append(f"Cancellation notice deadline: {ctx.notice_deadline}")
    lines.append(
        f"Customer fiscal year paying the renewal starts {ctx.fiscal_year_start}; "
        f"its budget is fixed by {ctx.budget_fixed_on}"
    )
    lines.append(f"Contract: {ctx.contract_id}")
    return "\n".join(f"- {line}" for line in lines)


def _pilot_kickoff(ctx: TaskContext) -> _Playbook:
    ends = f" It ends on {ctx.pilot_end}." if ctx.pilot_end else ""
    return _Playbook(
        title=f"Pilot kickoff with {ctx.account_name}: agree goals and metrics",
        why=(
            "The pilot has just started." + ends + " Without business goals and metrics "
            "agreed now, nobody can say at the end whether it worked."
        ),
        steps=(
            f"Meet {_owner(ctx)} and agree the business goals of the pilot.",
            "For each goal write down a measurable metric, its target and how it is measured.",
            "Agree the review date and who decides go or no-go.",
            "Record the goals on the contract.",
        ),
        done="Goals and metrics agreed in writing with the business owner and recorded.",
    )


def _pilot_review(ctx: TaskContext) -> _Playbook:
    ends = f"The pilot ends on {ctx.pilot_end}" if ctx.pilot_end else "The pilot is ending"
    return _Playbook(
        title=f"Pilot review with the business owner of {ctx.account_name}",
        why=f"{ends}; review it against the agreed metrics. {_goal(ctx)} {_usage(ctx)}",
        steps=(
            f"Meet {_owner(ctx)} and go through every business metric against its target.",
            "A sign-off from support or IT is not enough: the business owner must confirm "
            "the business metrics were met.",
            "Decide go or no-go, with the reasons.",
            "Report the verdict and the metric results to sales.",
        ),
        done="The business owner's verdict, with the metric results, is reported to sales.",
    )


def _trial_ending(ctx: TaskContext) -> _Playbook:
    ends = ctx.trial_end or ctx.due_date + timedelta(days=7)
    return _Playbook(
        title=f"Trial of {ctx.account_name} ends on {ends}",
        why=(
            f"The trial ends on {ends}. Warning: when it ends without a contract, "
            "the customer's database will be blocked and their users lose access."
        ),
        steps=(
            f"Tell {_owner(ctx)} the date and that the database will be blocked.",
            "Get the contract signed, or agree an extension of the trial.",
            "If they will not continue, agree what happens to their data before the block.",
        ),
        done=f"Contract signed or trial extended before {ends}, or the customer has "
        "confirmed in writing that they accept the block.",
    )


def _kickoff(ctx: TaskContext) -> _Playbook:
    if ctx.term_number == 1:
        return _Playbook(
            title=f"Kickoff with {ctx.account_name}",
            why=f"The contract started on {ctx.term_start}; the first weeks decide adoption.",
            steps=(
                f"Meet {_owner(ctx)} and the champion; confirm who owns the business outcome.",
                "Agree the business goals and metrics and record them on the contract.",
                "Agree the roll-out plan: who gets seats, by when, and who trains them.",
                "Agree that users report results to the business owners, and how often.",
            ),
            done="Goals recorded, roll-out plan and reporting agreed with the business owner.",
        )
    return _Playbook(
        title=f"Term {ctx.term_number} kickoff with {ctx.account_name}",
        why=f"Term {ctx.term_number} started on {ctx.term_start}. {_usage(ctx)}",
        steps=(
            f"Meet {_owner(ctx)}: review what the last term achieved against its goals.",
            "Confirm the business owners and champions are still the same people.",
            "Set the goals and metrics for this term and record them.",
        ),
        done="Stakeholders confirmed and this term's goals recorded.",
    )


def _implementation_check(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Implementation check: is {ctx.account_name} really using it?",
        why=f"A month into the contract. {_usage(ctx)}",
        steps=(
            "Compare active users with seats; list the teams that have not started.",
            "Ask users whether they report results to the business owners.",
            "Remove blockers: training, access, integrations.",
            "Follow up weekly until usage is steady.",
        ),
        done="At least 70% of seats active, or a dated plan to get there agreed with the champion.",
    )


def _adoption_review(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Adoption review with {ctx.account_name}",
        why=f"Ninety days in, adoption shows whether this contract will renew. {_usage(ctx)} "
        f"{_goal(ctx)}",
        steps=(
            f"Review active users against seats with {_owner(ctx)}.",
            "Check the goals and metrics: which are met, which are at risk.",
            "Ask users what works and what does not.",
            "Record goals at risk so they get follow-up.",
        ),
        done="Adoption and goals reviewed with the business owner; risks recorded.",
    )


def _review_steps(ctx: TaskContext) -> tuple[str, ...]:
    return (
        "Check that the business owners are still the same people; record any change.",
        f"Confirm the fiscal year starting {ctx.fiscal_year_start} and whether the renewal "
        f"is in its budget, fixed by {ctx.budget_fixed_on}.",
        "Review the metrics: are the goals met, are users happy?",
        "Look for room to expand: more seats, branches, modules.",
    )


def _mid_term_review(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Mid-term review with {ctx.account_name}",
        why=f"Half the term is gone. {_days_to_renewal(ctx)} {_usage(ctx)} {_goal(ctx)}",
        steps=(f"Meet {_owner(ctx)}.", *_review_steps(ctx)),
        done="Stakeholders, budget status, goal status and expansion ideas recorded.",
    )


def _anniversary_review(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Anniversary review with {ctx.account_name}",
        why=f"Another contract year is over. {_days_to_renewal(ctx)} {_usage(ctx)}",
        steps=(f"Meet {_owner(ctx)} to review the year.", *_review_steps(ctx)),
        done="Stakeholders, budget status, goal status and expansion ideas recorded.",
    )


def _onsite_visit(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"On-site visit to {ctx.account_name}",
        why=f"Enterprise customers get a visit twice a year. {_usage(ctx)} {_goal(ctx)}",
        steps=(
            f"Book the visit with {_owner(ctx)} and the executive sponsor.",
            "Present the results against the goals, with usage figures.",
            "Meet users on site; collect what works and what does not.",
            "Look for expansion: more seats, other branches, more modules.",
        ),
        done="Visit held; notes, stakeholder changes and expansion leads recorded.",
    )


def _budget_confirmation(ctx: TaskContext) -> _Playbook:
    if ctx.budget_fixed_on < ctx.term_start:
        timing = (
            f"The budget that pays this renewal was fixed on {ctx.budget_fixed_on}, "
            "before this term began, so confirm now that it includes the renewal."
        )
    else:
        timing = f"That budget is fixed by {ctx.budget_fixed_on}."
    return _Playbook(
        title=f"Confirm the renewal is in {ctx.account_name}'s budget",
        why=f"The renewal on {ctx.renewal} is paid from the fiscal year starting "
        f"{ctx.fiscal_year_start}. {timing}",
        steps=(
            f"Ask {_owner(ctx)} whether the renewal ({ctx.arr}) is in the budget for the "
            f"fiscal year starting {ctx.fiscal_year_start}.",
            f"If not, get it added before {ctx.budget_fixed_on}, with any planned expansion.",
            "Ask who approves the budget and record them as a stakeholder.",
        ),
        done=f"The business owner confirmed in writing that the renewal is in the budget "
        f"for the fiscal year starting {ctx.fiscal_year_start}.",
    )


def _renewal_outreach(ctx: TaskContext) -> _Playbook:
    notice = (
        f" The cancellation notice deadline is {ctx.notice_deadline}: hold the meeting before it."
        if ctx.notice_deadline
        else ""
    )
    if ctx.segment is Segment.SELF_SERVE:
        return _Playbook(
            title=f"Send the renewal notice to {ctx.account_name}",
            why=f"The contract renews on {ctx.renewal}.{notice}",
            steps=(
                "Send a short digital renewal notice (e-mail or in-app): renewal date, "
                "price and how to change or cancel.",
            ),
            done="Renewal notice sent.",
        )
    return _Playbook(
        title=f"Open the renewal with {ctx.account_name}: book an in-person meeting",
        why=f"Two months before renewal is the time to start, not two weeks. "
        f"{_days_to_renewal(ctx)}{notice} {_usage(ctx)}",
        steps=(
            f"Contact {_owner(ctx)} and ask for an in-person meeting"
            + (f" before {ctx.notice_deadline}." if ctx.notice_deadline else "."),
            "Prepare the results of this term: usage, goals met, value delivered.",
            "Check the renewal is in the customer's budget.",
            "Bring an expansion proposal if usage supports it.",
        ),
        done="In-person renewal meeting booked with the business owner.",
    )


def _notice_deadline(ctx: TaskContext) -> _Playbook:
    # The checkpoint is due on the deadline itself.
    deadline = ctx.notice_deadline or ctx.due_date
    return _Playbook(
        title=f"Cancellation notice deadline for {ctx.account_name}: {deadline}",
        why=f"Until {deadline} the customer can cancel the renewal on {ctx.renewal}.",
        steps=(
            f"Confirm with {_owner(ctx)} that they intend to renew.",
            "If they hesitate, find out why and act now, before the deadline passes.",
        ),
        done="The business owner confirmed the renewal, or a cancellation was handled.",
    )


def _renewal_due(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Renewal of {ctx.account_name} due on {ctx.renewal}",
        why=f"The renewal is two weeks away and not recorded yet. {_days_to_renewal(ctx)}",
        steps=(
            f"Get the signed renewal from {_owner(ctx)}.",
            "Record the renewal with its new end date and ARR.",
        ),
        done="Renewal recorded.",
    )


def _renewal_overdue(ctx: TaskContext) -> _Playbook:
    lapses = ctx.renewal + LAPSE_GRACE
    return _Playbook(
        title=f"Renewal of {ctx.account_name} is overdue",
        why=f"The renewal date {ctx.renewal} passed without a recorded renewal; "
        f"the contract lapses on {lapses}.",
        steps=(
            f"Call {_owner(ctx)} today.",
            "Escalate to your manager if there is no answer within two days.",
            "Record the renewal, or the churn with its reason.",
        ),
        done="Renewal or churn recorded.",
    )


def _auto_renewal(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"{ctx.account_name} renews automatically on {ctx.renewal}",
        why="The contract renews for the same length and ARR unless it churned or a "
        "cancellation notice is pending.",
        steps=(
            f"Let {_owner(ctx)} know the contract has renewed.",
            "Check the new term's dates and ARR.",
        ),
        done="Customer informed and the new term checked.",
    )


def _winback(ctx: TaskContext) -> _Playbook:
    reason = ctx.churn_reason or "not recorded"
    return _Playbook(
        title=f"Win back {ctx.account_name}",
        why=f"The customer left six months ago (reason: {reason}). Situations change: "
        "new people, new budget, a gap the replacement did not fill.",
        steps=(
            f"Check whether the reason ({reason}) still holds.",
            f"Contact {_owner(ctx)} or their successor.",
            "Offer a conversation about what has changed on both sides.",
        ),
        done="Conversation held and the outcome recorded.",
    )


def _stakeholder_change(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Key stakeholder change at {ctx.account_name}",
        why=f"A key stakeholder left or changed role. {_days_to_renewal(ctx)} "
        "The person who bought the product may no longer be there to renew it.",
        steps=(
            "Meet the new business owner.",
            "Introduce the product and the results so far.",
            "Re-align on the business goals and metrics.",
        ),
        done="Met the new business owner; goals and metrics re-confirmed and recorded.",
    )


def _adoption_risk(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Low adoption at {ctx.account_name}",
        why=f"Fewer than half of the seats are in use. {_usage(ctx)}",
        steps=(
            "Ask the champion which teams are not using it, and why.",
            "Set up training or fix the blockers.",
            f"Report the plan to {_owner(ctx)}.",
        ),
        done="At least 60% of seats active (the task then closes by itself).",
    )


def _expansion_opportunity(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Expansion opportunity at {ctx.account_name}",
        why=f"Nearly every seat is in use. {_usage(ctx)}",
        steps=(
            f"Ask {_owner(ctx)} who else needs access.",
            "Propose more seats, other branches or more modules.",
        ),
        done="Expansion proposal discussed and its outcome recorded.",
    )


def _goal_at_risk(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Goal at risk at {ctx.account_name}: {ctx.goal_name or 'unnamed goal'}",
        why=f"{_goal(ctx)} {_days_to_renewal(ctx)}",
        steps=(
            f"Review the goal with {_owner(ctx)}: what blocks it?",
            "Agree a recovery plan with dates, or a revised target.",
        ),
        done="Goal back on track or achieved (the task then closes by itself), or a revised "
        "target agreed.",
    )


def _save_attempt(ctx: TaskContext) -> _Playbook:
    return _Playbook(
        title=f"Save {ctx.account_name}: cancellation notice received",
        why=f"The customer gave notice; the contract churns on {ctx.renewal} unless the "
        "notice is withdrawn or the contract is renewed.",
        steps=(
            f"Call {_owner(ctx)} within three days and find the real reason.",
            "Offer what addresses it: training, a different plan, a fix.",
            "If they stay, record the withdrawal of the notice or the renewal.",
        ),
        done="Notice withdrawn or contract renewed, or the churn reason recorded.",
    )


def _renewal_at_risk(ctx: TaskContext) -> _Playbook:
    signals = ", ".join(ctx.health_signals) if ctx.health_signals else "see the contract"
    return _Playbook(
        title=f"Renewal of {ctx.account_name} at risk",
        why=f"Health is red ({signals}). {_days_to_renewal(ctx)}",
        steps=(
            "Address each health signal with an owner and a date.",
            f"Meet {_owner(ctx)} in person.",
            "Tell your manager and sales.",
        ),
        done="A recovery plan agreed with the business owner and the signals addressed.",
    )


_PLAYBOOKS: dict[str, Callable[[TaskContext], _Playbook]] = {
    _K.PILOT_KICKOFF: _pilot_kickoff,
    _K.PILOT_REVIEW: _pilot_review,
    _K.TRIAL_ENDING: _trial_ending,
    _K.KICKOFF: _kickoff,
    _K.IMPLEMENTATION_CHECK: _implementation_check,
    _K.ADOPTION_REVIEW: _adoption_review,
    _K.MID_TERM_REVIEW: _mid_term_review,
    _K.ANNIVERSARY_REVIEW: _anniversary_review,
    _K.ONSITE_VISIT: _onsite_visit,
    _K.BUDGET_CONFIRMATION: _budget_confirmation,
    _K.RENEWAL_OUTREACH: _renewal_outreach,
    _K.NOTICE_DEADLINE: _notice_deadline,
    _K.RENEWAL_DUE: _renewal_due,
    _K.RENEWAL_OVERDUE: _renewal_overdue,
    _K.AUTO_RENEWAL: _auto_renewal,
    _K.WINBACK: _winback,
    "stakeholder_change": _stakeholder_change,
    "adoption_risk": _adoption_risk,
    "expansion_opportunity": _expansion_opportunity,
    "goal_at_risk": _goal_at_risk,
    "save_attempt": _save_attempt,
    "renewal_at_risk": _renewal_at_risk,
}

TASK_KINDS = frozenset(_PLAYBOOKS)


def render_task(kind: str, ctx: TaskContext) -> tuple[str, str]:
    """Title and markdown description for a task of ``kind``.

    An unknown kind raises ValueError: a task without a playbook would leave
    the account manager guessing.
    """
    build = _PLAYBOOKS.get(kind)
    if build is None:
        raise ValueError(f"no playbook for task kind {kind!r}")
    playbook = build(ctx)
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(playbook.steps, start=1))
    description = (
        f"**Why now:** {playbook.why}\n\n"
        f"**People:**\n{_people(ctx)}\n\n"
        f"**At stake:**\n{_stakes(ctx)}\n\n"
        f"**Steps:**\n{steps}\n\n"
        f"**Done when:** {playbook.done}\n"
    )
    return playbook.title, description
