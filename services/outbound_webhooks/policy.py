"""What one attempt's answer means for a delivery: pure, no I/O, no clock.

- 2xx: delivered.
- 410 Gone: the receiver says the endpoint is gone for good; the subscription is disabled.
- 429 and 503: retried, after `Retry-After` when the answer carries one.
- any other 4xx: the request itself is wrong, and sending it again cannot help: failed.
- anything else (3xx, 5xx, timeouts, connection errors): retried with exponential
  backoff and jitter, until the delivery's retry window closes (`shared.runtime.backoff`,
  the policy the CRM task sync follows too).
"""

from __future__ import annotations

import random
from datetime import datetime
from enum import StrEnum

from shared.runtime.backoff import backoff, retry_after, retry_at

__all__ = ["THROTTLED", "Verdict", "backoff", "next_attempt", "retry_after", "verdict"]


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
    at = retry_at(
        attempt=attempt,
        now=now,
        retry_until=retry_until,
        asked_delay=asked_delay,
        initial=initial,
        cap=cap,
        rng=rng,
    )
    return (Verdict.FAILED, None) if at is None else (Verdict.RETRIED, at)
