"""What each answer means for a delivery, and when it is tried again (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.outbound_webhooks.policy import Verdict, backoff, next_attempt, retry_after, verdict

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (None, Verdict.RETRIED),
        (301, Verdict.RETRIED),
        (500, Verdict.RETRIED),
        (503, Verdict.RETRIED),
        (429, Verdict.RETRIED),
        (400, Verdict.FAILED),
        (401, Verdict.FAILED),
        (404, Verdict.FAILED),
        (410, Verdict.DISABLED),
    ],
)
def test_verdicts(status: int | None, expected: Verdict) -> None:
    assert verdict(status) is expected


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt, base in [(1, 5), (2, 10), (3, 20), (10, 2560), (30, 21600)]:
        delay = backoff(attempt, initial=5, cap=21600, rng=rng)
        assert base / 2 <= delay <= base


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("120", NOW) == 120
    assert retry_after("Wed, 25 Nov 2026 12:00:30 GMT", NOW) == 30
    assert retry_after("Wed, 25 Nov 2026 11:00:00 GMT", NOW) == 0
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None


def test_retry_after_wins_and_the_window_gives_up() -> None:
    rng = random.Random(1)
    kwargs = {"now": NOW, "initial": 5.0, "cap": 60.0, "rng": rng}
    until = NOW + timedelta(days=3)
    assert next_attempt(
        Verdict.RETRIED, attempt=1, retry_until=until, asked_delay=90, **kwargs
    ) == (Verdict.RETRIED, NOW + timedelta(seconds=90))
    assert next_attempt(
        Verdict.RETRIED,
        attempt=1,
        retry_until=NOW + timedelta(seconds=1),
        asked_delay=None,
        **kwargs,
    ) == (Verdict.FAILED, None)
    assert next_attempt(
        Verdict.DELIVERED, attempt=1, retry_until=until, asked_delay=None, **kwargs
    ) == (Verdict.DELIVERED, None)
