"""`renewals tick`: one scheduler sweep for a date and, with --wait, until its events
are applied. A module of its own so the demo moves through its year with the very code
the command runs; what it prints goes through `echo` and `warn`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime

from services.renewal_worker.scheduler import SweepResult, sweep
from services.renewal_worker.sources import embedded
from shared.config import Settings
from shared.db import Database
from shared.runtime import lease
from shared.runtime.transient import is_transient

Echo = Callable[[str], None]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _report(echo: Echo, result: SweepResult, *, more: bool = False) -> None:
    """The first sweep always reports its checkpoints; a follow-up sweep only what it did."""
    extra = "more " if more else ""
    if result.checkpoints_opened or not more:
        echo(f"opened {_count(result.checkpoints_opened, extra + 'checkpoint')}")
    if result.markers_reached:
        echo(f"reached {_count(result.markers_reached, extra + 'renewal marker')}")
    if result.overdue_tasks_noted:
        noun = extra + "task"
        echo(f"noted {_count(result.overdue_tasks_noted, noun)} over 14 days overdue")
    if result.renewals:
        echo(f"renewed {_count(result.renewals, extra + 'contract term')}")
    if result.churns:
        echo(f"churned {_count(result.churns, extra + 'contract')}")


async def _await_applied(
    db: Database,
    settings: Settings,
    event_ids: list[str],
    deadline: float,
    timeout: float,
    warn: Echo,
) -> bool:
    """Waits until every event is processed: by the worker holding the lease, or by this
    process, which takes the lease and drains the stream itself when nobody holds it."""
    loop = asyncio.get_running_loop()
    drainer = embedded.LifecycleConsumer(db, settings, holder=lease.new_holder_id("tick"))
    holder: str | None = None
    try:
        while True:
            pending = await embedded.pending_among(db, event_ids)
            if pending == 0:
                return True
            try:
                async with db.read() as session:
                    holder = await lease.lease_holder(session, lease.LIFECYCLE)
            except Exception as exc:
                if not is_transient(exc):
                    raise
            remaining = deadline - loop.time()
            if remaining <= 0:  # after reading the holder, so the message can name it
                by = f"; the lease is held by {holder}" if holder else ""
                warn(
                    f"timed out after {timeout:g} s: {pending} of {len(event_ids)} events "
                    f"not applied yet{by}"
                )
                return False
            if holder is None or holder == drainer.holder:
                try:
                    result = await drainer.step()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                else:
                    if result is not None and result.rows:
                        continue
            await asyncio.sleep(min(settings.worker_poll_seconds, max(remaining, 0.01)))
    finally:
        await drainer.release()


async def tick(
    settings: Settings,
    as_of: date,
    at: datetime,
    *,
    wait: bool,
    timeout: float,
    echo: Echo,
    warn: Echo,
) -> bool:
    """With --wait, the events already waiting are applied first, so the sweep sees
    the plans of contracts created just before; then the sweep's own events. Renewals
    and churns re-plan their contracts once applied (the next term, a winback), so after
    them the date is swept again: a second tick for the same date then finds nothing."""
    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        earlier = await embedded.pending_event_ids(db) if wait else []
        if earlier and not await _await_applied(db, settings, earlier, deadline, timeout, warn):
            return False
        result = await sweep(db, as_of, time=at, currency=settings.currency)
        _report(echo, result)
        if not wait:
            return True
        applied = len(earlier)
        while True:
            if not await _await_applied(db, settings, result.event_ids, deadline, timeout, warn):
                return False
            applied += len(result.event_ids)
            if not (result.renewals or result.churns):
                break
            result = await sweep(db, as_of, time=at, currency=settings.currency)
            _report(echo, result, more=True)
        echo(f"applied {_count(applied, 'event')}")
        return True
    finally:
        await db.dispose()
