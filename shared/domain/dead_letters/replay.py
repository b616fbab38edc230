"""Replaying dead letters, the operation behind `renewals dlq replay` and the console.

A dead letter is a poison event with its error (see the worker's event sources).
Replaying one hands the event back to the engine once its cause is fixed, and marks
the dead letter replayed (`replayed_at`):

- embedded mode (`RENEWALS_EVENT_BUS=database`): the event goes back into the outbox
  as an unprocessed lifecycle row with the same CloudEvent, in the transaction that marks
  the dead letter replayed;
- distributed mode (`kafka`): the event is republished to `RENEWALS_KAFKA_TOPIC`, keyed
  by its account id, and marked replayed once the broker acknowledged it.

Either way the worker applies it like any other event; a poison event's inbox key was
never written, so it is applied, not skipped. If it fails again it becomes a new dead
letter. Records that were not CloudEvents (`type` `unparseable`) cannot be replayed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.models import DeadLetter, OutboxEvent
from shared.runtime.kafka import HEADERS, client_kwargs, ensure_topics


@dataclass(frozen=True, slots=True)
class Replay:
    """What happened to one dead letter: `replayed`, or why not."""

    id: uuid.UUID
    replayed: bool
    reason: str = ""


async def recent_dead_letters(db: Database, *, limit: int) -> list[DeadLetter]:
    """The oldest first (ids are time-ordered), replayed ones included."""
    async with db.read() as session:
        rows = await session.scalars(select(DeadLetter).order_by(DeadLetter.id).limit(limit))
        return list(rows.all())


def is_replayable(letter: DeadLetter) -> bool:
    event = letter.event
    return isinstance(event, dict) and all(
        isinstance(event.get(name), str) and event.get(name)
        for name in ("specversion", "id", "source", "type")
    )


def _account_id(event: dict[str, Any]) -> str | None:
    """The account an event is about, read as the worker reads it: account events name it
    `id`, the others `account_id`; None when it is missing or no UUID."""
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    raw = (
        data.get("id")
        if str(event.get("type", "")).startswith("account.")
        else data.get("account_id")
    )
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return None


def partition_key(event: dict[str, Any]) -> str:
    """The Kafka key (and outbox `partition_key`) of an event: its account id, the
    partner id for partner events, the subject when neither can be read."""
    data = event.get("data")
    if str(event.get("type", "")).startswith("partner."):
        if isinstance(data, dict) and data.get("id"):
            return str(data["id"])
        return str(event.get("subject") or "")
    return _account_id(event) or str(event.get("subject") or "")


async def _pending(
    db: Database, ids: Sequence[uuid.UUID] | None
) -> tuple[list[DeadLetter], list[Replay]]:
    """The dead letters to replay (all pending ones when `ids` is None) and the refusals."""
    refused: list[Replay] = []
    async with db.read() as session:
        if ids is None:
            letters = list(
                (
                    await session.scalars(
                        select(DeadLetter)
                        .where(DeadLetter.replayed_at.is_(None))
                        .order_by(DeadLetter.id)
                    )
                ).all()
            )
        else:
            found = {
                letter.id: letter
                for letter in await session.scalars(
                    select(DeadLetter).where(DeadLetter.id.in_(list(ids)))
                )
            }
            letters = []
            for letter_id in ids:
                letter = found.get(letter_id)
                if letter is None:
                    refused.append(Replay(letter_id, False, "no such dead letter"))
                elif letter.replayed_at is not None:
                    refused.append(Replay(letter_id, False, "already replayed"))
                else:
                    letters.append(letter)
    ready = []
    for letter in letters:
        if is_replayable(letter):
            ready.append(letter)
        else:
            refused.append(Replay(letter.id, False, "not a CloudEvent; cannot be replayed"))
    return ready, refused


async def _mark_replayed(db: Database, letter_id: uuid.UUID) -> None:
    async with db.transaction() as session:
        stored = await session.get(DeadLetter, letter_id, with_for_update=not db.is_sqlite)
        if stored is not None:
            stored.replayed_at = utcnow()


def _outbox_row(letter: DeadLetter) -> OutboxEvent:
    event = letter.event
    return OutboxEvent(
        stream=letter.stream,
        event_id=letter.event_id,
        source=letter.source,
        type=letter.type,
        subject=str(event.get("subject")) if event.get("subject") else None,
        partition_key=partition_key(event),
        event=event,
    )


def _producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_kwargs(settings, "renewals-dlq-replay"),
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
    )


async def _publish(producer: AIOKafkaProducer, settings: Settings, letter: DeadLetter) -> None:
    value = json.dumps(letter.event, separators=(",", ":"), ensure_ascii=False)
    await producer.send_and_wait(
        settings.kafka_topic,
        value=value.encode(),
        key=partition_key(letter.event).encode(),
        headers=HEADERS,
    )


async def _replay_into_outbox(db: Database, letter: DeadLetter) -> bool:
    async with db.transaction() as session:
        stored = await session.get(DeadLetter, letter.id, with_for_update=not db.is_sqlite)
        if stored is None or stored.replayed_at is not None:
            return False  # someone else replayed it meanwhile
        session.add(_outbox_row(stored))
        stored.replayed_at = utcnow()
    return True


async def replay_one(session: AsyncSession, settings: Settings, letter_id: uuid.UUID) -> Replay:
    """Replays one dead letter within the caller's write transaction (the console's
    request). In distributed mode the event is published before the transaction commits:
    should the commit fail, the dead letter stays pending and a second replay publishes
    the event again, which the worker's inbox then skips."""
    letter = await session.get(DeadLetter, letter_id, with_for_update=True)
    if letter is None:
        return Replay(letter_id, False, "no such dead letter")
    if letter.replayed_at is not None:
        return Replay(letter_id, False, "already replayed")
    if not is_replayable(letter):
        return Replay(letter_id, False, "not a CloudEvent; cannot be replayed")
    if settings.event_bus == "kafka":
        await ensure_topics(settings, [settings.kafka_topic])
        producer = _producer(settings)
        await producer.start()
        try:
            await _publish(producer, settings, letter)
        finally:
            await producer.stop()
    else:
        session.add(_outbox_row(letter))
    letter.replayed_at = utcnow()
    await session.flush()
    return Replay(letter_id, True)


async def replay(
    db: Database, settings: Settings, ids: Sequence[uuid.UUID] | None = None
) -> list[Replay]:
    """Replays these dead letters (every pending one when `ids` is None)."""
    letters, results = await _pending(db, ids)
    if not letters:
        return results
    if settings.event_bus == "kafka":
        await ensure_topics(settings, [settings.kafka_topic])
        producer = _producer(settings)
        await producer.start()
        try:
            for letter in letters:
                await _publish(producer, settings, letter)
                await _mark_replayed(db, letter.id)
                results.append(Replay(letter.id, True))
        finally:
            await producer.stop()
        return results
    for letter in letters:
        if await _replay_into_outbox(db, letter):
            results.append(Replay(letter.id, True))
        else:
            results.append(Replay(letter.id, False, "already replayed"))
    return results
