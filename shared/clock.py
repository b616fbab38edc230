"""The wall clock, for the edges only (API timestamps, the scheduler's default date).

The engine never reads it: its "now" is the time on the event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()
