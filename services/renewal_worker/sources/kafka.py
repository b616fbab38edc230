"""The distributed lifecycle consumer: a Kafka consumer group (DESIGN §2, §4).

`renewals worker` with `RENEWALS_EVENT_BUS=kafka` joins the group
`RENEWALS_KAFKA_GROUP_ID` on `RENEWALS_KAFKA_TOPIC` (auto-commit off; a partition without
a committed offset, or whose committed offset fell out of the log, starts at the earliest
record). Workers scale by partitions.

**Effectively once.** Each `getmany` batch (at most `RENEWALS_KAFKA_BATCH_SIZE` records,
waiting at most `RENEWALS_KAFKA_POLL_TIMEOUT_MS`) is applied in ONE database
transaction through the step the embedded source takes too (`step.apply_batch`: the
batch applied set-wise — its accounts read in a few queries, the engine run over its
events in memory, the changes, the `engine` inbox keys and the dead letters written with
a few statements per table). Only after that transaction committed are the offsets committed,
explicitly: the batch's last offset + 1 per partition. A crash between the two
redelivers the batch to whoever owns the partitions next, and the inbox turns every
redelivered event into a duplicate.

**Rebalances.** A batch runs from `getmany` to the offset commit under a lock; the
rebalance listener takes the same lock in `on_partitions_revoked`, so a revocation waits
for the batch in flight: either its DB transaction and then its offsets commit, or
neither does (a failed batch is rolled back before the lock is released). A member
kicked out of the group mid-batch (it exceeded the session timeout) commits its DB
transaction but not its offsets; the new owner's redelivery is absorbed by the inbox.

**Poison.** A record that is not JSON, not a CloudEvent, or makes the engine raise
anything that is not transient (`shared.runtime.transient`) is published to `<topic>.dlq`
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
`RENEWALS_WORKER_PRUNE_INTERVAL_SECONDS` (`retention`; deletes are idempotent, so
several workers may).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from services.renewal_worker.sources import step
from services.renewal_worker.sources.base import EventSource
from services.renewal_worker.sources.kafka_records import Record, decode, dlq_headers
from services.renewal_worker.sources.step import BatchResult, Outcome
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.runtime.kafka import client_kwargs, ensure_topics, heartbeat_interval_ms
from shared.runtime.steps import describe

DLQ_SUFFIX = ".dlq"
SHUTDOWN_GRACE_SECONDS = 10.0
"""How long a stopping worker waits for its last offset commit and for leaving the group
while the broker does not answer."""
REQUEST_TIMEOUT_MS = 40_000
FETCH_GRACE_SECONDS = 1.0
"""How long past twice its poll timeout a fetch may wait before it is cut (`_fetch`)."""

_log = structlog.get_logger("renewals.kafka_worker")

Batch = dict[TopicPartition, list[Record]]
BeforeOffsetCommit = Callable[[Batch], Awaitable[None]]
"""A hook run after the DB commit and before the offset commit (tests crash there)."""


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def new_producer(settings: Settings, client_id: str = "renewals-worker") -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_kwargs(settings, client_id),
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


class KafkaWorker(EventSource):
    """The consumer-group worker of one process; `run` loops until `stop` is set."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        before_offset_commit: BeforeOffsetCommit | None = None,
    ) -> None:
        super().__init__(
            db,
            settings,
            log=_log.bind(group=settings.kafka_group_id, topic=settings.kafka_topic),
            idle_seconds=0,  # `getmany` waits when there is nothing
        )
        self.settings = settings
        self.topic = settings.kafka_topic
        self.dlq = dlq_topic(settings.kafka_topic)
        self.batch_size = settings.kafka_batch_size
        self.poll_timeout_ms = settings.kafka_poll_timeout_ms
        self.before_offset_commit = before_offset_commit
        self.batch_lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.totals: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self._stop: asyncio.Event | None = None

    # -- connection ------------------------------------------------------------------

    def _new_consumer(self) -> AIOKafkaConsumer:
        session_ms = self.settings.kafka_session_timeout_ms
        return AIOKafkaConsumer(
            **client_kwargs(self.settings, "renewals-worker"),
            group_id=self.settings.kafka_group_id,
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
            fetched = await self._fetch()
            batch: Batch = {tp: records for tp, records in fetched.items() if records}
            if not batch:
                return BatchResult()
            try:
                return await self._apply(batch, stop)
            except BaseException:
                self._rewind(batch)
                raise

    async def _fetch(self) -> Batch:
        """`getmany`, bounded. While the group rebalances, aiokafka's `getmany` waits for
        the new assignment with no timeout, and the rebalance waits in
        `on_partitions_revoked` for `batch_lock`, held here: after a broker outage the
        two waited for each other until the worker stopped. A fetch that outlasts its
        poll timeout is cut (it has taken no records yet), the lock is released and the
        rebalance goes on."""
        assert self.consumer is not None
        limit = 2 * self.poll_timeout_ms / 1000 + FETCH_GRACE_SECONDS
        try:
            fetched: Batch = await asyncio.wait_for(
                self.consumer.getmany(timeout_ms=self.poll_timeout_ms, max_records=self.batch_size),
                timeout=limit,
            )
        except TimeoutError:
            return {}
        return fetched

    def _rewind(self, batch: Batch) -> None:
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        for tp, records in batch.items():
            if tp in assigned:
                self.consumer.seek(tp, records[0].offset)

    async def _apply(self, batch: Batch, stop: asyncio.Event | None) -> BatchResult:
        decoded = [decode(record) for records in batch.values() for record in records]
        async with self.db.transaction() as session:
            processed = await step.apply_batch(
                session, [item.incoming for item in decoded], currency=self.currency
            )
        result = step.settle(processed)
        await self._publish_poison(
            [
                (item.record, done.error)
                for item, done in zip(decoded, processed, strict=True)
                if done.error is not None
            ]
        )
        self.totals[Outcome.APPLIED] += result.applied
        self.totals[Outcome.DUPLICATE] += result.duplicates
        self.totals[Outcome.DEAD_LETTERED] += result.dead_lettered
        self.log.info(
            "batch_processed",
            records=result.rows,
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
        if not self.pruner.due(now):
            return
        try:
            pruned = await self.pruner.prune(now)
        except Exception as exc:
            self.log.warning("prune_failed", error=describe(exc))
            return
        if pruned.inbox_keys or pruned.idempotency_keys:
            self.log.info(
                "pruned", inbox_keys=pruned.inbox_keys, idempotency_keys=pruned.idempotency_keys
            )

    async def _turn(self) -> bool:
        await self.step(self._stop)  # waits up to the poll timeout when there is nothing
        await self.prune_if_due()
        return True

    async def run(self, stop: asyncio.Event, *, wake: asyncio.Event | None = None) -> None:
        self._stop = stop
        try:
            await super().run(stop, wake=wake)
        finally:
            self.log.info(
                "worker_stopped",
                applied=self.totals[Outcome.APPLIED],
                duplicates=self.totals[Outcome.DUPLICATE],
                dead_lettered=self.totals[Outcome.DEAD_LETTERED],
            )


async def run(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The Kafka lifecycle consumer until `stop` is set (`renewals worker`)."""
    await KafkaWorker(db, settings).run(stop)
