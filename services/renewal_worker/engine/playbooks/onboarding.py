"""The first months of a term: kickoff, implementation check, adoption review."""

from __future__ import annotations

from services.renewal_worker.engine.playbooks.context import (
    Playbook,
    TaskContext,
    fiscal_year_question,
    goals,
    meet,
    owner,
    usage,
)


def kickoff(ctx: TaskContext) -> Playbook:
    if ctx.term_number == 1:
        return Playbook(
            title=f"Kickoff with {ctx.account_name}",
            why=f"The contract started on {ctx.term_start}; the first weeks decide adoption.",
            steps=(
                f"{meet(ctx, f'{owner(ctx)} and the champion')}; confirm who owns the "
                "business outcome.",
                "Agree the business goals and metrics and record them on the contract.",
                "Agree the roll-out plan: who gets seats, by when, and who trains them.",
                "Agree that users report results to the business owners, and how often.",
                *fiscal_year_question(ctx),
            ),
            done="Goals recorded, roll-out plan and reporting agreed with the business owner.",
        )
    return Playbook(
        title=f"Term {ctx.term_number} kickoff with {ctx.account_name}",
        why=f"Term {ctx.term_number} started on {ctx.term_start}. {usage(ctx)}",
        steps=(
            f"{meet(ctx, owner(ctx))}: review what the last term achieved against its goals.",
            "Confirm the business owners and champions are still the same people.",
            "Set the goals and metrics for this term and record them.",
            *fiscal_year_question(ctx),
        ),
        done="Stakeholders confirmed and this term's goals recorded.",
    )


def implementation_check(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Implementation check: is {ctx.account_name} really using it?",
        why=f"A month into the contract. {usage(ctx)}",
        steps=(
            "Compare active users with seats; list the teams that have not started.",
            "Ask users whether they report results to the business owners.",
            "Remove blockers: training, access, integrations.",
            "Follow up weekly until usage is steady.",
        ),
        done="At least 70% of seats active, or a dated plan to get there agreed with the champion.",
    )


def adoption_review(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Adoption review with {ctx.account_name}",
        why=f"Ninety days in, adoption shows whether this contract will renew. {usage(ctx)} "
        f"{goals(ctx)}",
        steps=(
            f"Review active users against seats with {owner(ctx)}.",
            "Check the goals and metrics: which are met, which are at risk.",
            "Ask users what works and what does not.",
            "Record goals at risk so they get follow-up.",
        ),
        done="Adoption and goals reviewed with the business owner; risks recorded.",
    )


def implementation_followup(ctx: TaskContext) -> Playbook:
    return Playbook(
        title=f"Implementation follow-up with {ctx.account_name}",
        why=f"The roll-out is in its first three months, when a stalled team is still easy "
        f"to win back; this follow-up replaces the previous one. {usage(ctx)}",
        steps=(
            "Ask the champion which teams have started and which have not, and why.",
            "Check the roll-out plan agreed at the kickoff: seats handed out, people trained.",
            "Remove what blocks: training, access, integrations; agree who does what by when.",
            f"Tell {owner(ctx)} where the roll-out stands.",
        ),
        done="Roll-out status recorded, with a date and an owner for every open blocker.",
    )
