"""Who is changing what, and when: passed from the edge to every service call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.clock import utcnow
from shared.events.types import SOURCE_API


@dataclass(frozen=True, slots=True)
class Context:
    """`time` is the time of the change: now for REST calls, the event's `time` for
    CloudEvents received on `/v1/events`, so the engine sees when it really happened."""

    actor: str
    currency: str
    time: datetime
    source: str = SOURCE_API

    @classmethod
    def now(cls, actor: str, currency: str) -> Context:
        return cls(actor=actor, currency=currency, time=utcnow())
