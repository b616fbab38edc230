"""Work claimed from a table and done a few items at a time: webhook deliveries, CRM
task syncs. Both keep up to `concurrency` items in flight, claim only as many as there
are free slots, and sleep until a wake-up, a free slot or the poll interval when there
was less to claim than room for it; a failing claim (the database away) backs off
exponentially instead of spinning. On stop, what is in flight is finished."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.runtime.steps import describe

Item = TypeVar("Item")


@dataclass(slots=True)
class ClaimLoop(Generic[Item]):
    claim: Callable[[int], Awaitable[Sequence[Item]]]
    """Claims at most that many items (one short transaction)."""
    work: Callable[[Item], Coroutine[Any, Any, Any]]
    """Does one item; must not raise (it records its own failures)."""
    concurrency: int
    poll_seconds: float
    max_backoff: float
    log: Any
    """A structlog logger."""
    claim_failed: str
    """The log event of a failed claim."""
    between_claims: Callable[[], Awaitable[Any]] | None = None
    """Housekeeping run after each successful claim (pruning), in the claim's backoff."""

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        busy: set[asyncio.Task[Any]] = set()
        backoff = self.poll_seconds
        try:
            while not stop.is_set():
                free = self.concurrency - len(busy)
                try:
                    claimed = await self.claim(free) if free > 0 else []
                    if self.between_claims is not None:
                        await self.between_claims()
                except Exception as exc:
                    self.log.warning(self.claim_failed, retry_in=backoff, error=describe(exc))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = self.poll_seconds
                for item in claimed:
                    task: asyncio.Task[Any] = asyncio.create_task(self.work(item))
                    busy.add(task)
                    task.add_done_callback(busy.discard)
                if not claimed or len(claimed) < free:
                    await self._pause(stop, wake, busy)
        finally:
            await asyncio.gather(*busy, return_exceptions=True)

    async def _pause(
        self, stop: asyncio.Event, wake: asyncio.Event, busy: set[asyncio.Task[Any]]
    ) -> None:
        """Until stop, a wake-up, the poll interval, or (all slots taken) a free slot."""
        helpers = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
        full = len(busy) >= self.concurrency
        try:
            await asyncio.wait(
                helpers | (busy if full else set()),
                timeout=self.poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        wake.clear()
