"""The outbox relay (DESIGN §2, distributed mode): outbox rows -> Kafka, then deleted.

The API, the scheduler and the worker never write to Kafka: they write outbox rows in
the transaction of their change (`shared.events.outbox.emit`). `renewals relay`
publishes those rows and deletes them once the broker acknowledged them:

1. Read a batch of unpublished rows (`processed_at IS NULL`) in id order.
2. Send each row with aiokafka, CloudEvents structured mode: the value is the row's
   `event` JSON, header `content-type: application/cloudevents+json`, key the row's
   `partition_key` (the account id; the partner id for partner events). Lifecycle rows
   go to `RENEWALS_KAFKA_TOPIC`, notification rows to
   `RENEWALS_KAFKA_NOTIFICATIONS_TOPIC` (see `topics`).
3. Await every send of the batch, then delete exactly the acknowledged rows in one
   transaction. A row is never deleted before the broker acknowledged it (`acks=all`).

**At-least-once.** A relay that dies between the broker's acknowledgement and the
delete (or a delete that fails) leaves the rows in the outbox, and the next relay
publishes them again. Consumers must therefore dedupe: the worker records each event's
inbox key (`source`, `id`) in the transaction that applies it, so a republished event
changes nothing.

**Order per key.** Rows are sent in id order, and the default partitioner sends one key
to one partition. aiokafka never has more than one produce request in flight per broker
and mutes a partition while its batch is in flight, re-queueing a failed batch at the
head of its partition — it behaves like `max.in.flight.requests.per.connection=1` (it
has no such option), so a retry cannot overtake a later batch. With the idempotent
producer (`RENEWALS_KAFKA_IDEMPOTENCE`, on by default)
aiokafka also never expires a batch and the broker drops retried duplicates. Without
it, a batch that stays unacknowledged longer than the request timeout (40 s) fails;
its rows stay in the outbox and are published again after later rows of the same
key that did get through: per-key order is only guaranteed with idempotence on.

**One active relay.** `leader` holds leadership (a Postgres advisory lock, or the
`relay` lease row on SQLite); standbys retry every `RENEWALS_RELAY_STANDBY_SECONDS` and
take over when the active relay dies or stops.

**Wake-ups.** On Postgres the relay wakes on `NOTIFY renewals_outbox` (sent by `emit`'s
commit) and polls every `RENEWALS_RELAY_POLL_SECONDS` as a fallback; SQLite only polls.

**Failures.** While the broker is unreachable the relay retries with capped exponential
backoff (`RENEWALS_RELAY_POLL_SECONDS` doubling up to `RENEWALS_RELAY_MAX_BACKOFF_SECONDS`),
forever; rows are never dropped, and writers keep adding to the outbox meanwhile. Topics
are ensured every time the relay (re)connects to the broker.

**Shutdown.** When `stop` is set (SIGTERM) the relay finishes the batch in flight —
waiting up to `RENEWALS_RELAY_SHUTDOWN_GRACE_SECONDS` for its acknowledgements, then
deleting what was acknowledged — releases leadership and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select

from services.relay.leader import Leadership, leadership_for
from services.relay.wakeup import Wakeup, wakeup_for
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.types import Stream
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from shared.models import OutboxEvent
from shared.runtime import lease
from shared.runtime.kafka import HEADERS, client_kwargs, ensure_topics, topic_for
from shared.runtime.steps import describe, wait_for_any

REQUEST_TIMEOUT_MS = 40_000
"""How long a produce request may wait for the broker. A paused broker that comes back
within it answers the request in flight, so nothing is sent twice."""

_DELETE_CHUNK = 500
_log = structlog.get_logger("renewals.relay")

AfterPublish = Callable[[list[int]], Awaitable[None]]
"""A hook called with the acknowledged row ids before they are deleted (tests use it to
simulate a crash between publish and delete)."""


class OutboxRow(NamedTuple):
    """The columns of an outbox row the relay needs."""

    id: int
    stream: str
    partition_key: str
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did: rows read, acknowledged (and deleted), and not acknowledged."""

    rows: int = 0
    published: int = 0
    failed: int = 0


class PublishError(Exception):
    """Some rows of a batch were not acknowledged; they stay in the outbox."""


def new_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_kwargs(settings, "renewals-relay"),
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        linger_ms=5,
    )


def encode(row: OutboxRow) -> tuple[bytes, bytes]:
    """The Kafka key and value of a row: structured-mode CloudEvent JSON."""
    value = json.dumps(row.event, separators=(",", ":"), ensure_ascii=False).encode()
    return row.partition_key.encode(), value


class Relay:
    """The relay of one process. `run` loops until `stop` is set."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        holder: str | None = None,
        leadership: Leadership | None = None,
        wakeup: Wakeup | None = None,
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.holder = holder or lease.new_holder_id("relay")
        self.batch_size = settings.relay_batch_size
        self.poll_seconds = settings.relay_poll_seconds
        self.standby_seconds = settings.relay_standby_seconds
        self.max_backoff = settings.relay_max_backoff_seconds
        self.grace = settings.relay_shutdown_grace_seconds
        self.leadership = leadership or leadership_for(
            db, self.holder, lease_ttl=timedelta(seconds=settings.worker_lease_ttl_seconds)
        )
        self.wakeup = wakeup or wakeup_for(db)
        self.after_publish = after_publish
        self.leading = False
        self.published = 0
        """Rows this relay published and deleted, for logs and tests."""
        self.in_flight = 0
        """Rows of the batch handed to the producer and not settled yet."""
        self._producer: AIOKafkaProducer | None = None
        self._metrics_at: float | None = None
        self._log = _log.bind(holder=self.holder)

    # -- the outbox ------------------------------------------------------------------

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The first `limit` unpublished rows in id order. One query per stream keeps to
        the `(stream, processed_at, id)` index; the merge restores the global id order."""
        per_stream: list[list[OutboxRow]] = []
        async with self.db.read() as session:
            for stream in Stream:
                result = await session.execute(
                    select(
                        OutboxEvent.id,
                        OutboxEvent.stream,
                        OutboxEvent.partition_key,
                        OutboxEvent.event,
                    )
                    .where(
                        OutboxEvent.stream == str(stream),
                        OutboxEvent.processed_at.is_(None),
                    )
                    .order_by(OutboxEvent.id)
                    .limit(limit)
                )
                per_stream.append([OutboxRow(*columns) for columns in result])
        return list(heapq.merge(*per_stream))[:limit]

    async def _delete(self, ids: Sequence[int]) -> None:
        """Deletes exactly these rows, in one transaction."""
        if not ids:
            return
        async with self.db.transaction() as session:
            for start in range(0, len(ids), _DELETE_CHUNK):
                await session.execute(
                    delete(OutboxEvent)
                    .where(OutboxEvent.id.in_(ids[start : start + _DELETE_CHUNK]))
                    .execution_options(synchronize_session=False)
                )

    async def refresh_metrics(self) -> tuple[int, float]:
        """Sets the backlog gauges from the database; returns (rows, oldest age in s)."""
        backlog = 0
        oldest = None
        async with self.db.read() as session:
            for stream in Stream:
                count, first = (
                    await session.execute(
                        select(func.count(), func.min(OutboxEvent.created_at)).where(
                            OutboxEvent.stream == str(stream),
                            OutboxEvent.processed_at.is_(None),
                        )
                    )
                ).one()
                backlog += int(count or 0)
                if first is not None and (oldest is None or first < oldest):
                    oldest = first
        age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        OUTBOX_BACKLOG.set(backlog)
        OUTBOX_OLDEST_AGE.set(age)
        return backlog, age

    async def _refresh_metrics_if_due(self) -> None:
        """At most once per poll interval: a busy relay draining a large backlog need
        not count it after every batch."""
        now = asyncio.get_running_loop().time()
        if self._metrics_at is None or now - self._metrics_at >= self.poll_seconds:
            self._metrics_at = now
            await self.refresh_metrics()

    # -- Kafka -----------------------------------------------------------------------

    async def _ready_producer(self) -> AIOKafkaProducer:
        """The producer, started (and the topics ensured) on first use after a start or
        a failure."""
        if self._producer is not None:
            return self._producer
        await ensure_topics(self.settings)
        producer = new_producer(self.settings)
        try:
            await producer.start()
        except BaseException:
            await self._stop(producer)
            raise
        self._producer = producer
        self._log.info("producer_started", bootstrap=self.settings.kafka_bootstrap_servers)
        return producer

    async def _stop(self, producer: AIOKafkaProducer) -> None:
        """Stops a producer; one stuck on an unreachable broker is abandoned after the
        grace period (its unacknowledged rows are still in the outbox)."""
        try:
            await asyncio.wait_for(producer.stop(), timeout=max(self.grace, 1.0))
        except Exception as exc:
            self._log.warning("producer_stop_failed", error=describe(exc))
            # aiokafka has no public way to abandon undelivered batches: stop its sender
            # task and connections so nothing keeps running behind our back.
            with contextlib.suppress(Exception):
                sender = getattr(producer, "_sender", None)
                if sender is not None:
                    await asyncio.wait_for(sender.close(), timeout=1.0)
                await asyncio.wait_for(producer.client.close(), timeout=1.0)

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop(producer)

    async def _send_all(
        self, producer: AIOKafkaProducer, rows: Sequence[OutboxRow], acks: list[asyncio.Future[Any]]
    ) -> None:
        """Hands every row to the producer in order (`acks` collects the delivery
        futures as they are made), then waits for all of them."""
        for row in rows:
            key, value = encode(row)
            acks.append(
                await producer.send(
                    topic_for(self.settings, row.stream), value=value, key=key, headers=HEADERS
                )
            )
        # `wait`, not `gather`: cancelling this task (shutdown grace exceeded) must not
        # cancel the producer's own delivery futures.
        if acks:
            await asyncio.wait(acks)

    async def publish_batch(self, stop: asyncio.Event | None = None) -> BatchResult:
        """Publishes one batch and deletes the rows the broker acknowledged. Raises
        `PublishError` (after deleting what was acknowledged) when some were not. If
        `stop` is set meanwhile, waits at most the grace period for acknowledgements."""
        if stop is None:
            producer = await self._ready_producer()
        else:
            # Connecting to a stalled broker can take a request timeout: SIGTERM wins.
            connecting = asyncio.ensure_future(self._ready_producer())
            await wait_for_any(stop, _done_event(connecting), timeout=None)
            if not connecting.done():
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                return BatchResult()
            producer = connecting.result()
        self.wakeup.clear()
        rows = await self.pending(self.batch_size)
        if not rows:
            return BatchResult()
        acks: list[asyncio.Future[Any]] = []
        sending = asyncio.ensure_future(self._send_all(producer, rows, acks))
        error: BaseException | None = None
        self.in_flight = len(rows)
        try:
            if stop is not None:
                await wait_for_any(stop, _done_event(sending), timeout=None)
                if not sending.done():
                    await asyncio.wait([sending], timeout=self.grace)
            else:
                await asyncio.wait([sending])
        finally:
            if not sending.done():
                sending.cancel()
                error = TimeoutError(
                    f"not acknowledged within the shutdown grace of {self.grace:g} s"
                )
            await asyncio.gather(sending, return_exceptions=True)
            self.in_flight = 0
        if error is None and not sending.cancelled():
            error = sending.exception()
        acked: list[int] = []
        for row, ack in zip(rows, acks, strict=False):
            if not ack.done() or ack.cancelled():
                continue
            failure = ack.exception()
            if failure is None:
                acked.append(row.id)
            elif error is None:
                error = failure
        if self.after_publish is not None:
            await self.after_publish(acked)
        await self._delete(acked)
        self.published += len(acked)
        result = BatchResult(rows=len(rows), published=len(acked), failed=len(rows) - len(acked))
        self._log.info(
            "batch_published", rows=result.rows, published=result.published, failed=result.failed
        )
        if result.failed:
            raise PublishError(
                f"{result.failed} of {result.rows} rows not acknowledged"
                + (f": {describe(error)}" if error is not None else "")
            )
        return result

    # -- the loop --------------------------------------------------------------------

    async def _lead(self) -> bool:
        try:
            leading = await self.leadership.acquire()
        except BaseException:
            if self.leading:
                self._log.warning("leadership_lost")
            self.leading = False
            raise
        if leading and not self.leading:
            self._log.info("leadership_acquired")
        elif not leading and self.leading:
            self._log.warning("leadership_lost")
        self.leading = leading
        return leading

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self.poll_seconds
        self._log.info("relay_started")
        standby_logged = False
        try:
            while not stop.is_set():
                try:
                    if not await self._lead():
                        if not standby_logged:
                            self._log.info("standing_by")
                            standby_logged = True
                        await self._close_producer()
                        await self.refresh_metrics()
                        await wait_for_any(stop, timeout=self.standby_seconds)
                        continue
                    standby_logged = False
                    result = await self.publish_batch(stop)
                    await self._refresh_metrics_if_due()
                except Exception as exc:
                    self._log.warning("relay_failed", retry_in=backoff, error=describe(exc))
                    await self._close_producer()
                    await wait_for_any(stop, timeout=backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = self.poll_seconds
                if result.rows < self.batch_size:
                    await self.wakeup.wait(stop, self.poll_seconds)
        finally:
            await self._close_producer()
            await self.leadership.release()
            await self.wakeup.close()
            self.leading = False
            self._log.info("relay_stopped", published=self.published)


def _done_event(future: asyncio.Future[Any]) -> asyncio.Event:
    done = asyncio.Event()
    future.add_done_callback(lambda _: done.set())
    return done


async def run(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The relay until `stop` is set (`renewals relay`)."""
    await Relay(db, settings).run(stop)
