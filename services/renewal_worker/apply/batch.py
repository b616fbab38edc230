"""Applies a batch of lifecycle events set-wise: read once, decide in memory, write once.

The per-event path (`handle`) loads, decides and writes each event through the ORM, a
flush per kind of row: at a few thousand events a second that ORM work is the whole
budget. This path does the same work per batch:

1. decode every event (one that cannot be read is poison);
2. read every account the events name in a fixed number of Core queries (`rows`), and
   the usage history a catching-up `usage.reported` is judged on;
3. run the pure engine over the events in order, each decision applied to the
   accounts in memory (`state`), so an account's later events see its earlier ones'
   effects; an event the engine raises on is poison and changes nothing, so the
   account's later events see the state before it;
4. write every change with a few statements per table (`bulk`).

It returns each event's error (None: applied) for the caller to dead-letter. Rows it
does not keep (another account's task) raise `NotSetwise`, and a failing write raises:
the caller then applies the batch event by event, in savepoints, as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply import forecasts, notify
from services.renewal_worker.apply.bulk import write_changes
from services.renewal_worker.apply.decode import (
    InvalidEvent,
    account_id_of,
    engine_event,
    reported_usage_id,
)
from services.renewal_worker.apply.rows import latest_up_to, load_states, usage_history
from services.renewal_worker.apply.state import AccountState, Changes
from services.renewal_worker.engine.rules import EngineSettings, decide
from services.renewal_worker.engine.state import EngineEvent, UsageFacts
from shared.clock import utcnow
from shared.runtime.transient import is_transient


@dataclass(frozen=True, slots=True)
class _Decoded:
    raw: dict[str, Any]
    event: EngineEvent
    account_id: uuid.UUID | None
    usage_up_to: uuid.UUID | None


def _decode(raw: dict[str, Any]) -> _Decoded:
    """What `handle.apply_event` reads before it loads, in the same order (so a poison
    event gets the same error)."""
    event = engine_event(raw)
    account_id = account_id_of(raw)
    usage_up_to = reported_usage_id(raw) if account_id is not None else None
    return _Decoded(raw, event, account_id, usage_up_to)


async def apply_events(
    session: AsyncSession, events: Sequence[dict[str, Any]], *, currency: str
) -> list[Exception | None]:
    """Applies structured-mode CloudEvents in the caller's transaction; returns, per
    event, the error that makes it poison or None. Transient errors propagate."""
    decoded: list[_Decoded | Exception] = []
    for raw in events:
        try:
            decoded.append(_decode(raw))
        except Exception as exc:  # any error reading the event makes it poison
            decoded.append(exc)
    wanted = sorted(
        {item.account_id for item in decoded if isinstance(item, _Decoded) and item.account_id}
    )
    states = await load_states(session, wanted, currency)
    history = await usage_history(session, _history_wanted(decoded, states))
    settings = EngineSettings(currency=currency)
    changes = Changes()
    results: list[Exception | None] = []
    for item in decoded:
        if isinstance(item, Exception) or item.account_id is None:
            results.append(item if isinstance(item, Exception) else None)
            continue
        state = states.get(item.account_id)
        if state is None:
            results.append(InvalidEvent(f"account {item.account_id} does not exist"))
            continue
        latest = _latest_usage(state, item.usage_up_to, history)
        try:
            decision = decide(state.facts(latest), item.event, settings)
        except Exception as exc:
            if is_transient(exc):
                raise
            results.append(exc)
            continue
        state.apply(item.event, decision, changes, utcnow())
        if item.event.type in notify.REEMITTED:
            changes.notifications.append(
                notify.reemit_event(
                    item.event,
                    subject=str(item.raw.get("subject")),
                    account_id=str(item.account_id),
                )
            )
        results.append(None)
    await write_changes(session, changes)
    await forecasts.refresh_after_bands(session, changes.bands_changed, currency=currency)
    return results


def _history_wanted(
    decoded: Sequence[_Decoded | Exception], states: dict[uuid.UUID, AccountState]
) -> dict[uuid.UUID, uuid.UUID]:
    """Per contract, the newest report a `usage.reported` of the batch needs the history
    up to: those of accounts with a report received after the event's report."""
    wanted: dict[uuid.UUID, uuid.UUID] = {}
    for item in decoded:
        if not isinstance(item, _Decoded) or item.usage_up_to is None or item.account_id is None:
            continue
        state = states.get(item.account_id)
        if state is None or _keeping_up(state, item.usage_up_to):
            continue
        for contract in state.contracts:
            contract_id = uuid.UUID(contract.id)
            wanted[contract_id] = max(wanted.get(contract_id, item.usage_up_to), item.usage_up_to)
    return wanted


def _keeping_up(state: AccountState, report_id: uuid.UUID) -> bool:
    """No contract of the account has a report received after `report_id`."""
    return all(latest_id <= report_id for latest_id in state.latest_usage_ids.values())


def _latest_usage(
    state: AccountState,
    report_id: uuid.UUID | None,
    history: dict[uuid.UUID, list[tuple[uuid.UUID, UsageFacts]]],
) -> dict[str, UsageFacts] | None:
    """The usage the event is judged on (see `load.usage_up_to`); None: the latest."""
    if report_id is None or _keeping_up(state, report_id):
        return None
    return latest_up_to(history, (c.id for c in state.contracts), report_id)
