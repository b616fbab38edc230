"""The contract stage, derived on read (DESIGN §3 "Stage")."""

from datetime import date, timedelta

from shared.rules.calendar import renewal_outreach_due
from shared.rules.types import Stage

LAPSE_GRACE = timedelta(days=30)
"""A contract stays active this long after R without a renewal, then lapses."""

IMPLEMENTATION_PERIOD = timedelta(days=90)


def stage_for(
    *,
    as_of: date,
    first_start: date,
    has_pilot: bool,
    term_number: int,
    term_start: date,
    renewal: date,
    notice_period_days: int,
    churned: bool,
) -> Stage:
    """Pick the stage the account manager should be working in on ``as_of``.

    The checks run from the most to the least final state, so a churned
    contract never shows as lapsed and a contract already in the outreach
    window shows as renewal even within its first 90 days (short terms). A
    contract without a pilot is in implementation before its start: that is
    the work that has to happen then. An auto-renewing contract past R + 30
    days shows as lapsed until its renewal is recorded, which makes a stuck
    auto-renewal visible instead of hiding it.
    """
    if churned:
        return Stage.CHURNED
    if has_pilot and as_of < first_start:
        return Stage.PILOT
    if as_of >= renewal + LAPSE_GRACE:
        return Stage.LAPSED
    if as_of >= renewal_outreach_due(renewal, notice_period_days):
        return Stage.RENEWAL
    if term_number == 1 and as_of < term_start + IMPLEMENTATION_PERIOD:
        return Stage.IMPLEMENTATION
    return Stage.ADOPTION
