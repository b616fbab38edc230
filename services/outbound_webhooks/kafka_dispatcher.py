"""The distributed dispatcher: a consumer group on the notifications topic.

With `RENEWALS_EVENT_BUS=kafka` the relay publishes notification rows to
`RENEWALS_KAFKA_NOTIFICATIONS_TOPIC` (and deletes them from the outbox). Every
`renewals worker` joins the group `RENEWALS_WEBHOOKS_KAFKA_GROUP_ID` on that topic
(auto-commit off; a partition without a committed offset starts at the earliest
record). Each batch is fanned out in ONE database transaction; only after it committed
are the offsets committed. A crash in between redelivers the batch, and the unique
(subscription, event) key of the deliveries absorbs it — which is also why no rebalance
lock is needed: a batch applied by two members adds its deliveries once.

A record that is not a JSON object is skipped with a warning: notifications are written
by the worker itself, so there is nothing a dead letter could replay. Any other failure
rolls the batch back, seeks its partitions back to the batch's first offsets and
retries after a capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.outbound_webhooks.base import Dispatcher
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.runtime.kafka import client_kwargs, ensure_topics, heartbeat_interval_ms
from shared.runtime.steps import describe

SHUTDOWN_GRACE_SECONDS = 10.0
REQUEST_TIMEOUT_MS = 40_000
_log = structlog.get_logger("renewals.webhooks")


def decode(value: bytes | None) -> dict[str, Any] | None:
    """The CloudEvent of a record, or None when it is not a JSON object."""
    if value is None:
        return None
    try:
        event = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


class KafkaDispatcher(Dispatcher):
    """`run` loops until `stop` is set; `step` runs one batch (tests drive it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        on_deliveries: Callable[[], None] | None = None,
        on_crm_syncs: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            db,
            settings,
            on_deliveries=on_deliveries,
            on_crm_syncs=on_crm_syncs,
            log=_log.bind(
                group=settings.webhooks_kafka_group_id, topic=settings.kafka_notifications_topic
            ),
            idle_seconds=0,  # `getmany` waits when there is nothing
        )
        self.settings = settings
        self.topic = settings.kafka_notifications_topic
        self.consumer: AIOKafkaConsumer | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> None:
        """Ensures the topic (with its partition count), then joins the group."""
        if self.consumer is not None:
            return
        await ensure_topics(self.settings, [self.topic])
        session_ms = self.settings.kafka_session_timeout_ms
        consumer = AIOKafkaConsumer(
            self.topic,
            **client_kwargs(self.settings, "renewals-webhooks"),
            group_id=self.settings.webhooks_kafka_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=heartbeat_interval_ms(session_ms),
            max_poll_records=self.settings.kafka_batch_size,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )
        try:
            await consumer.start()
        except BaseException:
            await self._stop_client(consumer)
            raise
        self.consumer = consumer
        self._log.info("dispatcher_started")

    async def _stop_client(self, consumer: AIOKafkaConsumer) -> None:
        try:
            await asyncio.wait_for(consumer.stop(), timeout=SHUTDOWN_GRACE_SECONDS)
        except Exception as exc:
            self._log.warning("client_stop_failed", error=describe(exc))

    async def close(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            await self._stop_client(consumer)

    async def step(self) -> int:
        """Fetches and fans out one batch, then commits its offsets; returns the records."""
        await self.start()
        assert self.consumer is not None
        fetched = await self.consumer.getmany(
            timeout_ms=self.settings.kafka_poll_timeout_ms,
            max_records=self.settings.kafka_batch_size,
        )
        batch: dict[TopicPartition, list[Any]] = {tp: rs for tp, rs in fetched.items() if rs}
        if not batch:
            return 0
        try:
            events: list[dict[str, Any]] = []
            for records in batch.values():
                for record in records:
                    event = decode(record.value)
                    if event is None:
                        self._log.warning(
                            "notification_skipped",
                            reason="not a JSON object",
                            partition=record.partition,
                            offset=record.offset,
                        )
                    else:
                        events.append(event)
            async with self.db.transaction() as session:
                added = await self.fan_out(session, events, now=utcnow())
        except BaseException:
            assigned = self.consumer.assignment()
            for tp, records in batch.items():
                if tp in assigned:
                    self.consumer.seek(tp, records[0].offset)
            raise
        self.delivered(added)
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        try:
            await asyncio.wait_for(self.consumer.commit(offsets), timeout=SHUTDOWN_GRACE_SECONDS)
        except Exception as exc:  # the deliveries exist; a redelivery adds nothing
            self._log.warning("offsets_not_committed", error=describe(exc))
        count = sum(len(records) for records in batch.values())
        self._log.info(
            "notifications_dispatched",
            records=count,
            deliveries=added.deliveries,
            crm_syncs=added.crm_syncs,
        )
        return count

    async def _step_unless_stopped(self, stop: asyncio.Event) -> None:
        """One step, abandoned when `stop` is set first: joining the group can take as
        long as the broker's rebalance, and SIGTERM must not wait for it. An abandoned
        fan-out rolls back and its offsets stay uncommitted, so the batch comes again."""
        step = asyncio.ensure_future(self.step())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await step
        if not step.cancelled():
            step.result()

    async def _turn(self) -> bool:
        assert self._stop is not None, "only `run` turns"
        await self._step_unless_stopped(self._stop)  # getmany waits when there is nothing
        return True

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        await super().run(stop)
