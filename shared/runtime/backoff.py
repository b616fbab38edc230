"""When to try a failed call to a remote party again: pure, no I/O, no clock.

Outbound webhooks and the CRM task sync follow one policy: exponential backoff with
jitter, a pause the remote party asked for (`Retry-After`) wins over it, and a retry that
would fall after the item's retry window is not made (the item is given up).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


def backoff(attempt: int, *, initial: float, cap: float, rng: random.Random) -> float:
    """Seconds before the retry that follows failed attempt number `attempt` (1-based):
    `initial · 2^(attempt-1)`, at most `cap`, of which a random half is jitter, so
    items that failed together do not all come back at the same instant."""
    base = min(cap, initial * 2.0 ** min(max(attempt, 1) - 1, 62))
    return base / 2 + rng.uniform(0, base / 2)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (delay-seconds or an HTTP date), or None
    when there is none or it cannot be read."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def retry_at(
    *,
    attempt: int,
    now: datetime,
    retry_until: datetime,
    asked_delay: float | None,
    initial: float,
    cap: float,
    rng: random.Random,
) -> datetime | None:
    """When to retry after failed attempt number `attempt`; None when that would fall
    after `retry_until` (give up)."""
    delay = (
        asked_delay
        if asked_delay is not None
        else backoff(attempt, initial=initial, cap=cap, rng=rng)
    )
    at = now + timedelta(seconds=delay)
    return None if at > retry_until else at
