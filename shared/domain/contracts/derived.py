"""What a contract's reads derive from its stored columns, and the rules its dates obey.

Kept apart from the service so the same definitions serve the create schema's
validator, PATCH (which checks the merged state) and every read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_

from shared.enums import Channel, ContractStatus
from shared.models import Contract, ContractTerm
from shared.rules.stage import LAPSE_GRACE, stage_for
from shared.rules.types import Stage


def channel_for(partner_id: uuid.UUID | None) -> Channel:
    return Channel.PARTNER if partner_id is not None else Channel.DIRECT


def current_term(terms: Sequence[ContractTerm]) -> ContractTerm:
    """The term with the highest number: every contract has term 1 from its creation."""
    return max(terms, key=lambda term: term.number)


def first_term(terms: Sequence[ContractTerm]) -> ContractTerm:
    return min(terms, key=lambda term: term.number)


def contract_stage(contract: Contract, as_of: date) -> Stage:
    """The stage on `as_of`; `contract.terms` must be loaded."""
    term = current_term(contract.terms)
    return stage_for(
        as_of=as_of,
        first_start=contract.start_date,
        has_pilot=contract.pilot_start is not None,
        term_number=term.number,
        term_start=term.start_date,
        renewal=contract.end_date,
        notice_period_days=contract.notice_period_days,
        churned=contract.status == ContractStatus.CHURNED,
    )


def active_on(as_of: date) -> ColumnElement[bool]:
    """DESIGN §3 "Active" as SQL: started, not churned on or before the day, and either
    within R + 30 days or auto-renewing. A churn recorded ahead of its date leaves the
    contract active until then."""
    return and_(
        Contract.start_date <= as_of,
        or_(Contract.churned_on.is_(None), Contract.churned_on > as_of),
        or_(Contract.auto_renew.is_(True), Contract.end_date > as_of - LAPSE_GRACE),
    )


@dataclass(frozen=True, slots=True)
class ContractDates:
    """The dates of a contract after a change. `first_end` is term 1's end and
    `current_start` the current term's start; both equal `end_date`/`start_date` in term 1."""

    start_date: date
    end_date: date
    first_end: date
    current_start: date
    pilot_start: date | None
    pilot_end: date | None
    trial_end: date | None


@dataclass(frozen=True, slots=True)
class DateProblem:
    """A broken rule between `field` and `other`. Which one an error names depends on
    what the caller sent: a PATCH that only moved `start_date` is told about `start_date`."""

    field: str
    other: str
    message: str

    def field_in(self, sent: Collection[str]) -> str:
        if self.field in sent or self.other not in sent:
            return self.field
        return self.other


def date_problems(d: ContractDates) -> list[DateProblem]:
    """Trials may end before the start (a free trial ahead of the paid term: the plan
    keeps trial checkpoints due before S) but not after term 1 ended, when they mean
    nothing. A pilot is both dates or neither, in order."""
    problems: list[DateProblem] = []
    if d.end_date <= d.current_start:
        problems.append(
            DateProblem(
                "end_date",
                "start_date",
                f"end_date ({d.end_date}) must be after the term's start ({d.current_start})",
            )
        )
    same_rule = (d.first_end, d.start_date) == (d.end_date, d.current_start)  # in term 1
    if not same_rule and d.first_end <= d.start_date:
        problems.append(
            DateProblem(
                "start_date",
                "end_date",
                f"start_date ({d.start_date}) must be before the first term's end ({d.first_end})",
            )
        )
    problems += _pilot_problems(d.pilot_start, d.pilot_end)
    if d.trial_end is not None and d.trial_end >= d.first_end:
        problems.append(
            DateProblem(
                "trial_end",
                "end_date",
                f"trial_end ({d.trial_end}) must be before the first term's end ({d.first_end})",
            )
        )
    return problems


def _pilot_problems(start: date | None, end: date | None) -> list[DateProblem]:
    if (start is None) != (end is None):
        return [DateProblem("pilot_end", "pilot_start", "pilot_start and pilot_end go together")]
    if start is not None and end is not None and end <= start:
        return [
            DateProblem(
                "pilot_end", "pilot_start", f"pilot_end ({end}) must be after pilot_start ({start})"
            )
        ]
    return []
