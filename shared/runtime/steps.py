"""The loop the long-running parts share (the embedded consumer, the Kafka worker and
both webhook dispatchers): step until stopped; a failure is logged — a warning when it
is transient (the database or broker comes back by itself), an error with its traceback
otherwise — and the step is retried after a backoff that doubles up to a cap, so a
dependency that is down is neither hammered nor given up on."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from shared.runtime.transient import is_transient


def describe(exc: BaseException) -> str:
    """An exception as one log field: its type and message, without the traceback."""
    return "".join(traceback.format_exception_only(exc)).strip() or type(exc).__name__


async def wait_for_any(*events: asyncio.Event, timeout: float | None) -> None:
    """Returns when any of the events is set, or after `timeout` seconds (None: never)."""
    if any(event.is_set() for event in events):
        return
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleeps `seconds`, or less when `stop` is set meanwhile."""
    await wait_for_any(stop, timeout=seconds)


async def run_steps(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[bool]],
    *,
    log: Any,
    failure: str,
    idle_seconds: float,
    initial_backoff: float,
    max_backoff: float,
    wake: asyncio.Event | None = None,
) -> None:
    """Calls `step` until `stop` is set. `step` returns True when more work may be
    waiting (the next step follows at once) and False when idle (`idle_seconds` pass
    first, or less when `wake` is set: it is cleared before each step, so work that
    arrives during a step is looked at right after it); `failure` names the log event
    of a step that raised."""
    backoff = initial_backoff
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        try:
            busy = await step()
        except Exception as exc:
            transient = is_transient(exc)
            (log.warning if transient else log.error)(
                failure,
                transient=transient,
                retry_in=backoff,
                error=describe(exc),
                exc_info=None if transient else exc,
            )
            await wait(stop, backoff)
            backoff = min(backoff * 2, max_backoff)
            continue
        backoff = initial_backoff
        if not busy:
            await wait_for_any(stop, *([wake] if wake else []), timeout=idle_seconds)
