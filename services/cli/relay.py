"""`renewals relay`: outbox rows to Kafka, one active relay at a time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from services.cli.common import configure_logging, load_settings, on_stop_signals

if TYPE_CHECKING:
    from shared.config import Settings


def relay() -> None:
    """Publish outbox rows to Kafka (distributed mode) until SIGTERM/SIGINT; the batch in
    flight is finished and leadership released before exiting. One relay is active at a
    time; others stand by and take over when it dies. RENEWALS_RELAY_METRICS_PORT serves
    /livez, /readyz (503 while draining) and /metrics."""
    settings = load_settings()
    configure_logging(settings)
    asyncio.run(_relay(settings))


async def _relay(settings: Settings) -> None:
    from services.relay.relay import Relay
    from shared.db import Database
    from shared.runtime.ops_server import serving

    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    stop = asyncio.Event()
    on_stop_signals(stop.set)
    ops = serving(db, settings, port=settings.relay_metrics_port, draining=stop, check_broker=True)
    try:
        async with ops:
            await Relay(db, settings).run(stop)
    finally:
        await db.dispose()
