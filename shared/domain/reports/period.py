"""The longest period a report covers: five years.

A report over a longer range reads more history than anyone compares at once, and its
cost grows with the range, so such a request is refused up front (422 naming the field)
rather than left to run into the statement timeout. The rule sits here so the API and
`renewals report` refuse the same requests."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.errors import InvalidInput
from shared.rules.calendar import add_months

MAX_YEARS = 5


def check_period(start: date, end: date) -> None:
    """`[start, end)`: `end` after `start`, and no later than `start` plus five years."""
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start})", field="end")
    latest = add_months(start, 12 * MAX_YEARS)
    if end > latest:
        raise InvalidInput(
            f"the period may span at most {MAX_YEARS} years: end must be on or before {latest}",
            field="end",
        )


def check_window(as_of: date, within_days: int) -> None:
    """`[as_of, as_of + within_days]` ends no later than `as_of` plus five years."""
    latest = add_months(as_of, 12 * MAX_YEARS)
    if as_of + timedelta(days=within_days) > latest:
        raise InvalidInput(
            f"the window may span at most {MAX_YEARS} years: within_days must be at most"
            f" {(latest - as_of).days} from {as_of}",
            field="within_days",
        )
