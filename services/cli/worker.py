"""`renewals worker`: the engine's consumer, the scheduler and the outbound webhooks."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from services.cli.common import (
    configure_logging,
    freeze_startup_heap,
    load_settings,
    on_stop_signals,
    require_secret_key,
)

if TYPE_CHECKING:
    from shared.config import Settings


def worker() -> None:
    """Apply lifecycle events, run the scheduler and deliver outbound webhooks until
    SIGTERM/SIGINT.

    RENEWALS_EVENT_BUS=database (the default): the embedded consumer over the outbox
    table, under a lease; the batch in progress is finished and the lease released before
    exiting. RENEWALS_EVENT_BUS=kafka: a member of the consumer group
    RENEWALS_KAFKA_GROUP_ID on RENEWALS_KAFKA_TOPIC; the batch in progress is finished,
    its offsets committed and the group left before exiting (code 0).
    RENEWALS_WORKER_METRICS_PORT serves /livez, /readyz (503 while draining) and /metrics."""
    settings = load_settings()
    configure_logging(settings)
    require_secret_key(settings)
    asyncio.run(_worker(settings))


async def _worker(settings: Settings) -> None:
    from services.outbound_webhooks import runner as webhooks
    from services.renewal_worker.scheduler import run_scheduler
    from services.renewal_worker.sources import embedded as consumer
    from shared.db import Database
    from shared.runtime.ops_server import serving

    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stop = asyncio.Event()
    on_stop_signals(stop.set)
    ops = serving(
        db,
        settings,
        port=settings.worker_metrics_port,
        draining=stop,
        check_broker=settings.event_bus == "kafka",
    )
    try:
        async with ops:
            if settings.event_bus == "kafka":
                from services.renewal_worker.sources import kafka as kafka_worker

                events = kafka_worker.run(db, settings, stop)
            else:
                events = consumer.run(db, settings, stop)
            freeze_startup_heap()
            tasks = [
                asyncio.create_task(events),
                asyncio.create_task(run_scheduler(db, settings, stop)),
                asyncio.create_task(webhooks.run(db, settings, stop)),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await db.dispose()
