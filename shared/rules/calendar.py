"""Calendar arithmetic for the checkpoint plan (DESIGN §3.1).

Every function takes the dates it needs; nothing here reads the clock.
"""

import calendar
from datetime import date, timedelta

OUTREACH_MONTHS_BEFORE_RENEWAL = 2
"""The renewal conversation opens two calendar months before R, not two weeks."""

OUTREACH_DAYS_BEFORE_NOTICE = 30
"""Outreach must also come a month before any cancellation-notice deadline."""


def add_months(d: date, months: int) -> date:
    """Shift by calendar months, clamping to the month's last day.

    Clamping (not rolling over) keeps 2027-04-30 minus 2 months on 2027-02-28 and a
    leap-day anniversary on 28 February, as the spec requires. Callers compute
    repeated dates from the same origin rather than stepping, because clamping
    is not reversible (01-31 + 1 month + 1 month is 03-28, not 03-31).
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def fiscal_year_start(on_or_before: date, start_month: int) -> date:
    """FYS: the budget year whose money pays for something due on this date."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"fiscal year start month must be 1..12, got {start_month}")
    year = on_or_before.year if on_or_before.month >= start_month else on_or_before.year - 1
    return date(year, start_month, 1)


def budget_fixed_on(
    renewal: date, fiscal_year_start_month: int | None, budget_lead_days: int
) -> date | None:
    """FYS(R) - budget_lead_days: by this day the customer's budget for the fiscal year that
    pays the renewal on R must include it (DESIGN §3 "Account"); None while the customer's
    fiscal year is unknown, because any date would be a guess presented as a fact.

    The plan's budget_confirmation, the task texts, the brief and the calendar feed all
    take the date from here.
    """
    if fiscal_year_start_month is None:
        return None
    return fiscal_year_start(renewal, fiscal_year_start_month) - timedelta(days=budget_lead_days)


def notice_deadline(renewal: date, notice_period_days: int) -> date | None:
    """R - notice_period_days: the last day the customer can give notice, or None when the
    contract has no notice period."""
    return renewal - timedelta(days=notice_period_days) if notice_period_days > 0 else None


def renewal_outreach_due(renewal: date, notice_period_days: int) -> date:
    """Whichever comes first: two months before R, or a month before the notice deadline.

    Shared by the plan and by the stage so both agree on when "renewal" begins.
    """
    by_months = add_months(renewal, -OUTREACH_MONTHS_BEFORE_RENEWAL)
    by_notice = renewal - timedelta(days=notice_period_days + OUTREACH_DAYS_BEFORE_NOTICE)
    return min(by_months, by_notice)


def notice_is_late(received_on: date, renewal: date, notice_period_days: int) -> bool:
    """Received after R - notice_period_days: too late to stop the renewal on R. With no
    notice period the deadline is R itself, so any notice up to R counts."""
    return received_on > renewal - timedelta(days=notice_period_days)
