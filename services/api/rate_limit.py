"""Token buckets per API key, in this process's memory, for the routes that cost the
database most (`/v1/reports/*`).

Each key's bucket holds up to `burst` calls and refills at `per_minute` calls a minute; a
call finding it empty is refused with 429 and `Retry-After`, the whole seconds until a
call is back. The buckets live in one API process: N replicas behind a load balancer let
a key make up to N times the rate, and a restart refills every bucket. That bounds what
one key can make one process compute without a shared store on the request path.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from services.api.deps import Reader
from services.api.problems import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`take` removes one call from a key's bucket, or says how long until one is back."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_minute / 60
        self.burst = burst
        self._clock = clock
        self._buckets: dict[uuid.UUID, _Bucket] = {}

    def take(self, key: uuid.UUID) -> float:
        """0 when the call may go ahead, else the seconds until the bucket holds a call."""
        if not self.per_second:
            return 0
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return (1 - bucket.tokens) / self.per_second


async def report_quota(request: Request, principal: Reader) -> None:
    """Counts the call against its key's bucket (after the key is checked: an unknown
    key is 401, not a call spent)."""
    buckets: TokenBuckets = request.app.state.report_buckets
    wait = buckets.take(principal.key_id)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"this API key made more than {buckets.burst} report calls at once or more than"
            f" {round(buckets.per_second * 60)} a minute; retry in {seconds} s",
            retry_after=seconds,
        )
