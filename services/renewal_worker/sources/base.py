"""What an event source of the engine is, whichever carries the events.

Two sources feed the engine (DESIGN §2 "two modes, one code path"): the embedded one
reads the outbox table under a lease (`embedded`), the distributed one is a Kafka
consumer group (`kafka`). Both do the same three things with a batch — fetch it, apply
it with its inbox keys in ONE database transaction (`step.apply_batch`), acknowledge it
(the outbox rows marked processed inside that transaction, or the Kafka offsets
committed after it) — and both loop the same way: until stopped, retrying a failed
batch after a capped exponential backoff, forever, and pruning on the way
(`retention`). This base class holds what they share.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from services.renewal_worker.retention import Pruner
from services.renewal_worker.sources.step import BatchResult
from shared.config import Settings
from shared.db import Database
from shared.runtime.steps import run_steps


class EventSource(ABC):
    """One process's consumer of lifecycle events. `step` runs one batch (fetch, apply,
    acknowledge); `run` loops until `stop` is set, finishing the batch in progress, then
    gives back what the source holds (`close`)."""

    def __init__(self, db: Database, settings: Settings, *, log: Any, idle_seconds: float) -> None:
        self.db = db
        self.currency = settings.currency
        self.idle_seconds = idle_seconds
        self.initial_backoff = settings.worker_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.pruner = Pruner(db, settings)
        self.log = log

    @abstractmethod
    async def step(self) -> BatchResult | None:
        """Fetches one batch, applies it and acknowledges it; None when the source may
        not read now."""

    @abstractmethod
    async def _turn(self) -> bool:
        """One pass of the loop; True when more work may be waiting (the next pass
        follows at once)."""

    @abstractmethod
    async def close(self) -> None:
        """Gives back what the source holds (its lease, its place in the group)."""

    async def run(self, stop: asyncio.Event, *, wake: asyncio.Event | None = None) -> None:
        """Steps until `stop` is set; `wake` cuts an idle wait short."""
        try:
            await run_steps(
                stop,
                self._turn,
                log=self.log,
                failure="batch_failed",
                idle_seconds=self.idle_seconds,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                wake=wake,
            )
        finally:
            await self.close()
