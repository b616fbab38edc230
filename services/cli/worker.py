"""`renewals worker`: the engine's consumer, the scheduler, the outbound webhooks and the
CRM task sync; `renewals crm-sync`: the CRM task sync alone."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

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
    """Apply lifecycle events, run the scheduler, deliver outbound webhooks and sync
    tasks to the CRMs that are set up, until SIGTERM/SIGINT.

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
    from services.crm_sync.runner import CrmSync
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
            crm = CrmSync(db, settings)
            freeze_startup_heap()
            tasks = [
                asyncio.create_task(events),
                asyncio.create_task(run_scheduler(db, settings, stop)),
                asyncio.create_task(webhooks.run(db, settings, stop, on_crm_syncs=crm.wake)),
                asyncio.create_task(crm.run(stop)),
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await db.dispose()


def crm_sync() -> None:
    """Push engine tasks to the CRMs' task queues and poll them for completions, until
    SIGTERM/SIGINT: the CRM task sync `renewals worker` also runs, alone, for a
    deployment that scales it apart. Exits with code 1 when no CRM is set up
    (RENEWALS_HUBSPOT_ACCESS_TOKEN, or the Salesforce settings). Any number may run;
    RENEWALS_WORKER_METRICS_PORT serves /livez, /readyz and /metrics."""
    settings = load_settings()
    configure_logging(settings)
    from shared.domain.crm_sync.wanted import enabled_crms

    if not enabled_crms(settings):
        typer.echo(
            "No CRM is set up: set RENEWALS_HUBSPOT_ACCESS_TOKEN (or the Salesforce"
            " settings) to sync tasks.",
            err=True,
        )
        raise typer.Exit(1)
    asyncio.run(_crm_sync(settings))


async def _crm_sync(settings: Settings) -> None:
    from services.crm_sync.runner import CrmSync
    from shared.db import Database
    from shared.runtime.ops_server import serving

    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stop = asyncio.Event()
    on_stop_signals(stop.set)
    try:
        ops = serving(
            db, settings, port=settings.worker_metrics_port, draining=stop, check_broker=False
        )
        async with ops:
            await CrmSync(db, settings).run(stop)
    finally:
        await db.dispose()
