"""Applies lifecycle events one at a time: load the account's facts, ask the engine, write.

The path a batch takes when its set-wise write (`batch`) fails, in the batch's
transaction together with the events' inbox keys, so an event's effects and its
"processed" mark commit or roll back as one: `preload` once per batch, then
`apply_event` per event (each in its savepoint), which isolates the event that fails.
The parts are `decode` (the CloudEvent), `load` (rows → facts), the pure engine
(`engine.rules.decide`), `write` (decision → rows) and `notify` (notifications).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply import load, notify, write
from services.renewal_worker.apply.decode import (
    InvalidEvent,
    account_id_of,
    engine_event,
    reported_usage_id,
)
from services.renewal_worker.engine.rules import EngineSettings, decide


async def preload(session: AsyncSession, events: Iterable[dict[str, Any]]) -> None:
    """Loads the accounts a batch's events are about in a few queries for the whole
    batch, instead of several per event, and keeps them in the session for its events.

    Events only change their own account, and the API committed the state behind every
    event of the batch before the batch was read, so what is loaded here, plus what
    `apply_event` writes as it applies the batch, is what a fresh load before each event would
    read (changes committed after this load but before an event's turn, which a fresh
    load could also have missed by a few milliseconds, are read by the next batch). An
    event that fails drops its account, which its next event then loads again: its
    savepoint's rollback expired the rows it had changed. Events that cannot be read are
    left for `apply_event` to reject."""
    wanted: set[uuid.UUID] = set()
    for cloud_event in events:
        try:
            account_id = account_id_of(cloud_event)
        except InvalidEvent:
            continue
        if account_id is not None:
            wanted.add(account_id)
    await load.preload_accounts(session, sorted(wanted))


async def apply_event(
    session: AsyncSession, event: dict[str, Any], *, currency: str = "USD"
) -> None:
    """Applies a lifecycle CloudEvent (structured-mode dict) inside the caller's transaction,
    from the account's rows kept for the batch when `preload` read them."""
    facts_event = engine_event(event)
    account_id = account_id_of(event)
    if account_id is None:
        return
    usage_up_to = reported_usage_id(event)
    loaded = await load.take_account(session, account_id)
    if loaded is None:
        raise InvalidEvent(f"account {account_id} does not exist")
    latest = None if usage_up_to is None else await load.usage_up_to(session, loaded, usage_up_to)
    decision = decide(
        loaded.facts(currency, latest), facts_event, EngineSettings(currency=currency)
    )
    await write.write_checkpoints(session, decision.checkpoints, loaded.checkpoints)
    await write.write_tasks(session, facts_event, decision, loaded)
    await write.write_health(session, facts_event, decision.health, loaded)
    if facts_event.type in notify.REEMITTED:
        notify.reemit(
            session, facts_event, subject=str(event.get("subject")), account_id=str(account_id)
        )
    load.keep_account(session, loaded)
