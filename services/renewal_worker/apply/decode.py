"""What the worker reads from a lifecycle CloudEvent before it applies it.

An event is a structured-mode CloudEvent (a dict) from the outbox or a Kafka record; it
may be anything a producer wrote. These readers name the account an event is about
(which rows to load, the Kafka key of a replayed dead letter), the contract for the log
lines, the usage report a `usage.reported` is about, and the event as the engine takes
it. A reader that finds the event unusable raises `InvalidEvent`: the event is poison
and goes to dead letters, whatever the retries.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.renewal_worker.engine.state import EngineEvent
from shared.events.types import EventType


class InvalidEvent(ValueError):
    """The event cannot be applied whatever the retries: it goes to dead letters."""


def account_id_of(event: dict[str, Any]) -> uuid.UUID | None:
    """The account an event is about; None for events the engine ignores (partners)."""
    kind = str(event.get("type", ""))
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("the event has no data object")
    if kind.startswith("partner."):
        return None
    raw = data.get("id") if kind.startswith("account.") else data.get("account_id")
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise InvalidEvent(f"{kind} names no valid account id") from exc


def contract_log_ids(event: dict[str, Any]) -> dict[str, str]:
    """`{"contract_id": ...}` for the log lines of an event about one contract (contract
    events name it `id`, except `contract.trial_started`, whose `id` is the trial's;
    usage, goal, trial and checkpoint events `contract_id`), else `{}`. Never raises: it
    runs before the event is known to be valid."""
    data = event.get("data")
    if not isinstance(data, dict):
        return {}
    kind = str(event.get("type", ""))
    named_by_id = kind.startswith("contract.") and kind != EventType.CONTRACT_TRIAL_STARTED
    value = data.get("id") if named_by_id else data.get("contract_id")
    return {"contract_id": value} if isinstance(value, str) and value else {}


def reported_usage_id(event: dict[str, Any]) -> uuid.UUID | None:
    """The report a `usage.reported` event is about; None for other events."""
    if event.get("type") != EventType.USAGE_REPORTED:
        return None
    try:
        return uuid.UUID(str(event["data"].get("id")))
    except ValueError as exc:
        raise InvalidEvent("usage.reported names no valid report id") from exc


def engine_event(event: dict[str, Any]) -> EngineEvent:
    """The event as the pure engine takes it; "now" is its `time`."""
    try:
        return EngineEvent(
            id=str(event["id"]),
            source=str(event["source"]),
            type=str(event["type"]),
            time=datetime.fromisoformat(str(event["time"])),
            data=event["data"],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidEvent(f"not a valid CloudEvent: {exc}") from exc
