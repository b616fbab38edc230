"""What one attempt's answer means for a delivery: pure, no I/O, no clock.

- 2xx: delivered.
- 410 Gone: the receiver says the endpoint is gone for good; the subscription is disabled.
- 429 and 503: retried, after `Retry-After` when the answer carries one.
- any other 4xx: the request itself is wrong, and sending it again cannot help: failed.
- anything else (3xx, 5xx, timeouts, connection errors): retried with exponential
  backoff and jitter, until the delivery's retry window closes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Verdict(StrEnum):
    """Also the `outcome` label of `renewals_webhook_deliveries_total`."""

    DELIVERED = "delivered"
    RETRIED = "retried"
    FAILED = "failed"
    DISABLED = "disabled"


THROTTLED = frozenset({429, 503})


def verdict(status_code: int | None) -> Verdict:
    """The verdict of an answer (`None`: no answer at all) before the retry window."""
    if status_code is None:
        return Verdict.RETRIED
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code == 410:
        return Verdict.DISABLED
    if 400 <= status_code < 500 and status_code not in THROTTLED:
        return Verdict.FAILED
    return Verdict.RETRIED


def backoff(attempt: int, *, initial: float, cap: float, rng: random.Random) -> float:
    """Seconds before the retry that follows failed attempt number `attempt` (1-based):
    `initial · 2^(attempt-1)`, at most `cap`, of which a random half is jitter, so
    deliveries that failed together do not all come back at the same instant."""
    base = min(cap, initial * 2.0 ** min(attempt - 1, 62))
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


def next_attempt(
    answer: Verdict,
    *,
    attempt: int,
    now: datetime,
    retry_until: datetime,
    asked_delay: float | None,
    initial: float,
    cap: float,
    rng: random.Random,
) -> tuple[Verdict, datetime | None]:
    """The final verdict and, for a retry, when: `Retry-After` wins over the backoff; a
    retry that would fall after `retry_until` is given up (failed)."""
    if answer is not Verdict.RETRIED:
        return answer, None
    delay = (
        asked_delay
        if asked_delay is not None
        else backoff(attempt, initial=initial, cap=cap, rng=rng)
    )
    at = now + timedelta(seconds=delay)
    if at > retry_until:
        return Verdict.FAILED, None
    return Verdict.RETRIED, at
