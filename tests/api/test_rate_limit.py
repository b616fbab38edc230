"""The token buckets behind the report rate limit, on a clock the test moves."""

from __future__ import annotations

import uuid

from services.api.rate_limit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_the_burst_through_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    key = uuid.uuid4()

    assert [buckets.take(key) for _ in range(3)] == [0, 0, 0]
    assert buckets.take(key) == 1.0
    clock.now += 0.5
    assert buckets.take(key) == 0.5
    clock.now += 0.5
    assert buckets.take(key) == 0
    clock.now += 3600
    assert [buckets.take(key) for _ in range(4)] == [0, 0, 0, 1.0]


def test_each_key_has_its_own_bucket() -> None:
    buckets = TokenBuckets(per_minute=60, burst=1, clock=Clock())
    first, second = uuid.uuid4(), uuid.uuid4()

    assert buckets.take(first) == 0
    assert buckets.take(first) > 0
    assert buckets.take(second) == 0
