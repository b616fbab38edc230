"""The distributed lifecycle consumer: a Kafka consumer group (DESIGN §2, §4).

`renewals worker` with `RENEWALS_EVENT_BUS=kafka` joins the group
`RENEWALS_KAFKA_GROUP_ID` on `RENEWALS_KAFKA_TOPIC` (auto-commit off; a partition without
a committed offset, or whose committed offset fell out of the log, starts at the earliest
record). Workers scale by partitions.

**Effectively once.** Each `getmany` batch (at most `RENEWALS_KAFKA_BATCH_SIZE` records,
waiting at most `RENEWALS_KAFKA_POLL_TIMEOUT_MS`) is applied in ONE database
transaction through the embedded consumer's per-event step (`embedded.process_event`:
`handle.apply_event` in a savepoint, the `engine` inbox key, dead letters), after the
batch's accounts were read in a few queries for the whole batch (`embedded.preload`);
the batch's inbox keys are written in one statement (`embedded.record_applied`). Only after
that transaction committed are the offsets committed, explicitly: the batch's last
offset + 1 per partition. A crash between the two redelivers the batch to whoever owns
the partitions next, and the inbox turns every redelivered event into a duplicate.

**Rebalances.** A batch runs from `getmany` to the offset commit under a lock; the
rebalance listener takes the same lock in `on_partitions_revoked`, so a revocation waits
for the batch in flight: either its DB transaction and then its offsets commit, or
neither does (a failed batch is rolled back before the lock is released). A member
kicked out of the group mid-batch (it exceeded the session timeout) commits its DB
transaction but not its offsets; the new owner's redelivery is absorbed by the inbox.

**Poison.** A record that is not JSON, not a CloudEvent, or makes the engine raise
anything that is not transient (`errors.is_transient`) is published to `<topic>.dlq`
(same key and value, the original headers plus `error`, `original-topic`,
`original-partition` and `original-offset`) and recorded as a `DeadLetter` row, so
`GET /v1/admin/dead-letters` and `renewals dlq` cover both modes; the partition moves
on. The DLQ records are sent after the DB commit (a transaction never waits for the
broker) and acknowledged before the offsets are committed; a redelivered poison record
(its dead letter exists, not replayed) is a duplicate for the database and is sent to
the DLQ again, so a crash in between duplicates a DLQ record, never loses one. A record
that cannot be parsed is keyed `kafka:<topic>` / `<partition>:<offset>` so its
redelivery is recognised too.

**Transient failures** (database or broker unreachable, anything that fails the batch
outside an event's savepoint): the transaction is rolled back, nothing is committed,
each partition is sought back to the batch's first offset, and the batch is retried
after a capped exponential backoff (`RENEWALS_WORKER_POLL_SECONDS` doubling up to
`RENEWALS_WORKER_MAX_BACKOFF_SECONDS`), forever. Never dead-lettered.

**Start and stop.** The topic and its `.dlq` are ensured with `RENEWALS_KAFKA_PARTITIONS`
on every start (a broker that auto-creates topics would give an unknown one a single
partition). When `stop` is set (SIGTERM/SIGINT) no new batch is fetched; the batch in
flight is finished and committed, then the consumer leaves the group (`stop()`), so its
partitions move to the other members at once.

Inbox keys and expired idempotency keys are pruned every
`RENEWALS_WORKER_PRUNE_INTERVAL_SECONDS` (deletes are idempotent, so several workers may).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from services.renewal_worker.sources import embedded
from services.renewal_worker.sources.embedded import Incoming, Outcome
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.types import Stream
from shared.runtime.kafka import ensure_topics, heartbeat_interval_ms
from shared.runtime.steps import describe, run_steps

DLQ_SUFFIX = ".dlq"
UNPARSEABLE = "unparseable"
"""The `type` of a dead letter whose record was not a CloudEvent."""
SHUTDOWN_GRACE_SECONDS = 10.0
"""How long a stopping worker waits for its last offset commit and for leaving the group
while the broker does not answer."""
REQUEST_TIMEOUT_MS = 40_000
_MAX_ERROR_HEADER = 4000

_log = structlog.get_logger("renewals.kafka_worker")

Record: TypeAlias = ConsumerRecord  # [bytes, bytes]; aiokafka ships no types
Batch = dict[TopicPartition, list[Record]]
BeforeOffsetCommit = Callable[[Batch], Awaitable[None]]
"""A hook run after the DB commit and before the offset commit (tests crash there)."""


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


@dataclass(frozen=True, slots=True)
class BatchResult:
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True, slots=True)
class Decoded:
    """A record as the engine's step sees it; `error` says why it is poison already."""

    record: Record
    incoming: Incoming
    error: str | None


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def decode(record: Record) -> Decoded:
    """The CloudEvent of a record, or the reason it is none (the record is then keyed by
    its position, which a redelivery repeats)."""
    fallback_source = f"kafka:{record.topic}"[:200]
    fallback_id = f"{record.partition}:{record.offset}"
    try:
        if record.value is None:
            raise ValueError("the record has no value")
        event = json.loads(record.value)
    except (ValueError, UnicodeDecodeError) as exc:
        raw = (record.value or b"").decode("utf-8", errors="replace")
        document: dict[str, Any] = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", errors="replace") if record.key else None,
            "value": raw[:10_000],
        }
        error = f"not JSON: {describe(exc)}"
        incoming = Incoming(
            str(Stream.LIFECYCLE), fallback_source, fallback_id, UNPARSEABLE, document
        )
        return Decoded(record, incoming, error)
    if not isinstance(event, dict):
        document = {"topic": record.topic, "partition": record.partition, "value": event}
        incoming = Incoming(
            str(Stream.LIFECYCLE), fallback_source, fallback_id, UNPARSEABLE, document
        )
        return Decoded(record, incoming, "not a CloudEvent: the value is not a JSON object")
    source = _text(event.get("source"), 200)
    event_id = _text(event.get("id"), 200)
    type = _text(event.get("type"), 100)
    missing = [
        name
        for name, value in (
            ("specversion", _text(event.get("specversion"), 10)),
            ("id", event_id),
            ("source", source),
            ("type", type),
        )
        if value is None
    ]
    if missing or source is None or event_id is None or type is None:
        incoming = Incoming(
            str(Stream.LIFECYCLE),
            source or fallback_source,
            event_id or fallback_id,
            type or UNPARSEABLE,
            event,
        )
        return Decoded(record, incoming, f"not a CloudEvent: no {', '.join(missing)}")
    return Decoded(record, Incoming(str(Stream.LIFECYCLE), source, event_id, type, event), None)


def dlq_headers(record: Record, error: str) -> list[tuple[str, bytes]]:
    """The original headers, then where the record came from and why it failed."""
    original = [(k, v) for k, v in (record.headers or ()) if k not in _DLQ_HEADER_NAMES]
    return [
        *original,
        ("error", error[:_MAX_ERROR_HEADER].encode()),
        ("original-topic", record.topic.encode()),
        ("original-partition", str(record.partition).encode()),
        ("original-offset", str(record.offset).encode()),
    ]


_DLQ_HEADER_NAMES = frozenset({"error", "original-topic", "original-partition", "original-offset"})


def new_producer(settings: Settings, client_id: str = "renewals-worker") -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Revocation waits for the batch in flight (DB commit, then offsets, or neither)."""

    def __init__(self, worker: KafkaWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.worker.batch_lock:
            self.worker.log.info("partitions_revoked", partitions=_names(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.worker.log.info("partitions_assigned", partitions=_names(assigned))


def _names(partitions: set[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)


class KafkaWorker:
    """The consumer-group worker of one process; `run` loops until `stop` is set."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        before_offset_commit: BeforeOffsetCommit | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.topic = settings.kafka_topic
        self.dlq = dlq_topic(settings.kafka_topic)
        self.currency = settings.currency
        self.batch_size = settings.kafka_batch_size
        self.poll_timeout_ms = settings.kafka_poll_timeout_ms
        self.initial_backoff = settings.worker_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.retention = timedelta(days=settings.event_retention_days)
        self.prune_interval = timedelta(seconds=settings.worker_prune_interval_seconds)
        self.before_offset_commit = before_offset_commit
        self.batch_lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.totals: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self._pruned_at: datetime | None = None
        self.log = _log.bind(group=settings.kafka_group_id, topic=self.topic)

    # -- connection ------------------------------------------------------------------

    def _new_consumer(self) -> AIOKafkaConsumer:
        session_ms = self.settings.kafka_session_timeout_ms
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.settings.kafka_group_id,
            client_id="renewals-worker",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=heartbeat_interval_ms(session_ms),
            max_poll_records=self.batch_size,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )

    async def start(self) -> None:
        """Ensures the topics, then starts the DLQ producer and joins the group."""
        if self.consumer is not None:
            return
        await ensure_topics(self.settings, [self.topic, self.dlq])
        producer = new_producer(self.settings)
        kafka = self._new_consumer()
        try:
            await producer.start()
            kafka.subscribe([self.topic], listener=_Rebalance(self))
            await kafka.start()
        except BaseException:
            await self._stop_client(producer)
            await self._stop_client(kafka)
            raise
        self.producer, self.consumer = producer, kafka
        self.log.info("worker_started", bootstrap=self.settings.kafka_bootstrap_servers)

    async def _stop_client(self, client: AIOKafkaConsumer | AIOKafkaProducer) -> None:
        """Stops a client; one stuck on an unreachable broker is abandoned after the grace."""
        try:
            await asyncio.wait_for(client.stop(), timeout=SHUTDOWN_GRACE_SECONDS)
        except Exception as exc:
            self.log.warning("client_stop_failed", error=describe(exc))

    async def close(self) -> None:
        """Leaves the group (its partitions move to the other members) and stops."""
        kafka, self.consumer = self.consumer, None
        producer, self.producer = self.producer, None
        if kafka is not None:
            await self._stop_client(kafka)
            self.log.info("consumer_stopped")  # LeaveGroup sent (aiokafka, generation > 0)
        if producer is not None:
            await self._stop_client(producer)

    # -- one batch -------------------------------------------------------------------

    async def step(self, stop: asyncio.Event | None = None) -> BatchResult:
        """Fetches and applies one batch; on any failure the partitions are sought back
        to the batch's first offsets and the error is raised (nothing was committed)."""
        await self.start()
        assert self.consumer is not None
        async with self.batch_lock:
            fetched = await self.consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.batch_size
            )
            batch: Batch = {tp: records for tp, records in fetched.items() if records}
            if not batch:
                return BatchResult()
            try:
                return await self._apply(batch, stop)
            except BaseException:
                self._rewind(batch)
                raise

    def _rewind(self, batch: Batch) -> None:
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        for tp, records in batch.items():
            if tp in assigned:
                self.consumer.seek(tp, records[0].offset)

    async def _apply(self, batch: Batch, stop: asyncio.Event | None) -> BatchResult:
        decoded = [decode(record) for records in batch.values() for record in records]
        outcomes: list[tuple[str, Outcome]] = []
        poison: list[tuple[Record, str]] = []
        async with self.db.transaction() as session:
            seen = await embedded.load_seen(session, [d.incoming.key for d in decoded])
            await embedded.preload(session, [d.incoming for d in decoded if d.error is None], seen)
            for item in decoded:
                key = item.incoming.key
                if item.error is None:
                    outcome, error = await embedded.process_event(
                        session, item.incoming, seen, currency=self.currency
                    )
                elif key in seen:
                    outcome, error = Outcome.DUPLICATE, None
                else:
                    await embedded.add_dead_letter(session, item.incoming, item.error, seen)
                    outcome, error = Outcome.DEAD_LETTERED, item.error
                if outcome is Outcome.DUPLICATE and key not in seen.applied:
                    error = seen.dead_lettered.get(key)  # a poison record redelivered
                if error is not None:
                    poison.append((item.record, error))
                outcomes.append((item.incoming.type, outcome))
            await embedded.record_applied(session, seen)
        embedded.count_outcomes(outcomes)
        await self._publish_poison(poison)
        tally = [outcome for _, outcome in outcomes]
        for outcome in Outcome:
            self.totals[outcome] += tally.count(outcome)
        result = BatchResult(
            records=len(decoded),
            applied=tally.count(Outcome.APPLIED),
            duplicates=tally.count(Outcome.DUPLICATE),
            dead_lettered=tally.count(Outcome.DEAD_LETTERED),
        )
        self.log.info(
            "batch_processed",
            records=result.records,
            applied=result.applied,
            duplicates=result.duplicates,
            dead_lettered=result.dead_lettered,
        )
        if self.before_offset_commit is not None:
            await self.before_offset_commit(batch)
        await self._commit_offsets(batch, stop)
        return result

    async def _publish_poison(self, poison: Sequence[tuple[Record, str]]) -> None:
        """Sends the batch's poison records to the DLQ and waits for every acknowledgement,
        after the DB commit (a transaction never waits for the broker) and before the
        offsets. A failure fails the batch: it is retried, its poison records are then
        duplicates of their dead letters, and they are sent again."""
        if not poison:
            return
        assert self.producer is not None
        acks = [
            await self.producer.send(
                self.dlq, value=record.value, key=record.key, headers=dlq_headers(record, error)
            )
            for record, error in poison
        ]
        await asyncio.gather(*acks)

    async def _commit_offsets(self, batch: Batch, stop: asyncio.Event | None) -> None:
        """Commits the last offset + 1 of each partition of the batch. The DB already has
        the batch, so a failed commit is only logged: a redelivery is absorbed by the
        inbox. While stopping, an unanswered commit is given up after the grace period."""
        assert self.consumer is not None
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        commit = asyncio.ensure_future(self.consumer.commit(offsets))
        try:
            while not commit.done():
                await asyncio.wait([commit], timeout=0.5)
                if stop is not None and stop.is_set() and not commit.done():
                    await asyncio.wait([commit], timeout=SHUTDOWN_GRACE_SECONDS)
                    break
        finally:
            if not commit.done():
                commit.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(commit, return_exceptions=True)
        error = None if commit.cancelled() else commit.exception()
        if commit.cancelled() or error is not None:
            self.log.warning(
                "offsets_not_committed",
                offsets={f"{tp.topic}[{tp.partition}]": o for tp, o in offsets.items()},
                error=describe(error) if error is not None else "gave up while stopping",
            )

    # -- the loop --------------------------------------------------------------------

    async def prune_if_due(self) -> None:
        now = utcnow()
        if self._pruned_at is not None and now - self._pruned_at < self.prune_interval:
            return
        self._pruned_at = now
        try:
            _, inbox_keys = await embedded.prune(self.db, older_than=now - self.retention)
            idempotency_keys = await embedded.prune_idempotency_keys(self.db, now=now)
        except Exception as exc:
            self.log.warning("prune_failed", error=describe(exc))
            return
        if inbox_keys or idempotency_keys:
            self.log.info("pruned", inbox_keys=inbox_keys, idempotency_keys=idempotency_keys)

    async def run(self, stop: asyncio.Event) -> None:
        async def turn() -> bool:
            await self.step(stop)  # waits up to the poll timeout when there is nothing
            await self.prune_if_due()
            return True

        try:
            await run_steps(
                stop,
                turn,
                log=self.log,
                failure="batch_failed",
                idle_seconds=0,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
            )
        finally:
            await self.close()
            self.log.info(
                "worker_stopped",
                applied=self.totals[Outcome.APPLIED],
                duplicates=self.totals[Outcome.DUPLICATE],
                dead_lettered=self.totals[Outcome.DEAD_LETTERED],
            )


async def run(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The Kafka lifecycle consumer until `stop` is set (`renewals worker`)."""
    await KafkaWorker(db, settings).run(stop)
