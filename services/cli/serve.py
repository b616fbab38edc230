"""`renewals api` and `renewals dev`: the processes that serve HTTP, the only commands
that import the web framework."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.common import (
    configure_logging,
    freeze_startup_heap,
    load_settings,
    on_stop_signals,
    require_secret_key,
)

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from shared.config import Settings
    from shared.db import Database


def api() -> None:
    """Serve the REST API until SIGTERM/SIGINT; requests in flight finish, then exit 0.
    RENEWALS_API_METRICS_PORT serves /livez, /readyz (with what failed) and /metrics
    apart from the public port."""
    from services.api.app import create_app
    from shared.db import Database
    from shared.runtime.ops_server import serving

    settings = load_settings()
    configure_logging(settings)
    require_secret_key(settings)
    server = _server(create_app(settings), settings, timeout_graceful_shutdown=20)

    async def serve() -> None:
        stop = asyncio.Event()
        _stop_on_signals(server, stop)
        db = Database(
            settings.database_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        ops = serving(
            db,
            settings,
            port=settings.api_metrics_port,
            draining=stop,
            check_broker=settings.event_bus == "kafka",
        )
        try:
            async with ops:
                await server.serve()
        finally:
            await db.dispose()

    freeze_startup_heap()
    asyncio.run(serve())


def dev(
    kafka: Annotated[
        bool,
        typer.Option(
            "--kafka",
            help="Through Kafka (RENEWALS_KAFKA_BOOTSTRAP_SERVERS): relay and consumer-group "
            "worker in this process",
        ),
    ] = False,
) -> None:
    """API, worker and scheduler in one process (embedded mode, or --kafka)."""
    from shared.config import LogFormat

    settings = load_settings()
    if kafka:
        settings = settings.model_copy(update={"event_bus": "kafka"})
    if "RENEWALS_LOG_FORMAT" not in os.environ:
        settings = settings.model_copy(update={"log_format": LogFormat.CONSOLE})
    configure_logging(settings)
    require_secret_key(settings)
    asyncio.run(_dev(settings))


def _server(
    application: FastAPI, settings: Settings, *, timeout_graceful_shutdown: int
) -> uvicorn.Server:
    """A uvicorn server on RENEWALS_API_HOST:RENEWALS_API_PORT that exits 0 on
    SIGTERM/SIGINT: the process's own handlers (`_stop_on_signals`) stop the server and
    the workers beside it, instead of uvicorn re-raising the signal once it has shut
    down. The subclass is made here so that importing this module imports no uvicorn."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(
        uvicorn.Config(
            application,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=timeout_graceful_shutdown,
        )
    )


def _stop_on_signals(server: uvicorn.Server, stop: asyncio.Event) -> None:
    def shutdown() -> None:
        server.should_exit = True
        stop.set()

    on_stop_signals(shutdown)


async def _first_key(db: Database) -> str | None:
    from shared.domain.auth.service import count_active_keys, create_key, parse_scopes

    async with db.transaction() as session:
        if await count_active_keys(session) > 0:
            return None
        _, plain = await create_key(session, name="first key", scopes=parse_scopes(["admin"]))
        return plain


async def _dev(settings: Settings) -> None:
    from services.api.app import create_app
    from services.crm_sync.runner import CrmSync
    from services.outbound_webhooks import runner as webhooks
    from services.renewal_worker.scheduler import run_scheduler
    from services.renewal_worker.sources import embedded as consumer
    from shared.db import Database
    from shared.db.migrate import upgrade

    await upgrade(settings.database_url)
    application = create_app(settings)
    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    try:
        key = await _first_key(db)
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"\n  API      {base}/v1\n  Docs     {base}/docs\n  Console  {base}/console")
        if key is not None:
            typer.echo(f"  API key  {key}\n           (shown once; it has every scope)")
        else:
            typer.echo("  API key  already created; make another: renewals apikey create")
        typer.echo("")
        server = _server(application, settings, timeout_graceful_shutdown=5)
        stop = asyncio.Event()
        _stop_on_signals(server, stop)
        if settings.event_bus == "kafka":
            from services.relay import relay as outbox_relay
            from services.renewal_worker.sources import kafka as kafka_worker

            events = [outbox_relay.run(db, settings, stop), kafka_worker.run(db, settings, stop)]
        else:
            events = [consumer.run(db, settings, stop)]
        crm = CrmSync(db, settings)
        background = [
            *(asyncio.create_task(runner) for runner in events),
            asyncio.create_task(run_scheduler(db, settings, stop)),
            asyncio.create_task(webhooks.run(db, settings, stop, on_crm_syncs=crm.wake)),
            asyncio.create_task(crm.run(stop)),
        ]
        try:
            await server.serve()
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
    finally:
        await db.dispose()
