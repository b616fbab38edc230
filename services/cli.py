"""The `renewals` command line."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from services.api.app import create_app
from services.outbound_webhooks import runner as webhooks
from services.renewal_worker import ticking
from services.renewal_worker.scheduler import run_scheduler
from services.renewal_worker.sources import embedded as consumer
from shared.clock import utcnow
from shared.config import LogFormat, Settings
from shared.db import Database
from shared.db.migrate import upgrade
from shared.domain.auth.service import count_active_keys, create_key, list_keys, parse_scopes
from shared.domain.auth.service import revoke_key as revoke_api_key
from shared.logging import configure_logging
from shared.runtime.ops_server import serving

app = typer.Typer(help="Renewal engine: keeps B2B contracts from being lost at renewal.")
apikey_app = typer.Typer(help="Create, list and revoke API keys.")
app.add_typer(apikey_app, name="apikey")


def _settings() -> Settings:
    return Settings()


@app.command()
def migrate() -> None:
    """Apply every pending migration (serialised by a lock on Postgres)."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(upgrade(settings.database_url))
    typer.echo("database is at the latest migration")


@app.command()
def api() -> None:
    """Serve the REST API until SIGTERM/SIGINT; requests in flight finish, then exit 0."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    server = _Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=20,
        )
    )

    async def serve() -> None:
        _stop_on_signals(server, asyncio.Event())
        await server.serve()

    _freeze_startup_heap()
    asyncio.run(serve())


def _freeze_startup_heap() -> None:
    """Moves what start-up built (modules, the app, its routes and schemas) out of the
    garbage collector's sight. A 1,000-event batch allocates thousands of ORM objects,
    which sets off full collections that walked that whole long-lived heap every time:
    a third of the batch's CPU. Garbage is collected first so none of it is kept."""
    gc.collect()
    gc.freeze()


async def _first_key(db: Database) -> str | None:
    async with db.transaction() as session:
        if await count_active_keys(session) > 0:
            return None
        _, plain = await create_key(session, name="first key", scopes=parse_scopes(["admin"]))
        return plain


class _Server(uvicorn.Server):
    """Exits 0 on SIGTERM/SIGINT: the process's own handlers stop the server (and the
    workers beside it) instead of uvicorn re-raising the signal once it has shut down."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _stop_on_signals(server: uvicorn.Server, stop: asyncio.Event) -> None:
    def shutdown() -> None:
        server.should_exit = True
        stop.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shutdown)


async def _dev(settings: Settings) -> None:
    await upgrade(settings.database_url)
    application = create_app(settings)
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        key = await _first_key(db)
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"\n  API      {base}/v1\n  Docs     {base}/docs")
        if key is not None:
            typer.echo(f"  API key  {key}\n           (shown once; it has every scope)")
        else:
            typer.echo("  API key  already created; make another: renewals apikey create")
        typer.echo("")
        server = _Server(
            uvicorn.Config(
                application,
                host=settings.api_host,
                port=settings.api_port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=5,
            )
        )
        stop = asyncio.Event()
        _stop_on_signals(server, stop)
        if settings.event_bus == "kafka":
            from services.relay import relay as outbox_relay
            from services.renewal_worker.sources import kafka as kafka_worker

            events = [outbox_relay.run(db, settings, stop), kafka_worker.run(db, settings, stop)]
        else:
            events = [consumer.run(db, settings, stop)]
        background = [
            *(asyncio.create_task(runner) for runner in events),
            asyncio.create_task(run_scheduler(db, settings, stop)),
            asyncio.create_task(webhooks.run(db, settings, stop)),
        ]
        try:
            await server.serve()
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
    finally:
        await db.dispose()


@app.command()
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
    settings = _settings()
    if kafka:
        settings = settings.model_copy(update={"event_bus": "kafka"})
    if "RENEWALS_LOG_FORMAT" not in os.environ:
        settings = settings.model_copy(update={"log_format": LogFormat.CONSOLE})
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(_dev(settings))


async def _worker(settings: Settings) -> None:
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
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


@app.command()
def worker() -> None:
    """Apply lifecycle events, run the scheduler and deliver outbound webhooks until
    SIGTERM/SIGINT.

    RENEWALS_EVENT_BUS=database (the default): the embedded consumer over the outbox
    table, under a lease; the batch in progress is finished and the lease released before
    exiting. RENEWALS_EVENT_BUS=kafka: a member of the consumer group
    RENEWALS_KAFKA_GROUP_ID on RENEWALS_KAFKA_TOPIC; the batch in progress is finished,
    its offsets committed and the group left before exiting (code 0).
    RENEWALS_WORKER_METRICS_PORT serves /livez, /readyz (503 while draining) and /metrics."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(_worker(settings))


def _parse_day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@app.command()
def tick(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The date to sweep for, YYYY-MM-DD (default: today, UTC)"),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once the events the sweep emitted are applied")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds --wait waits before exit 1")
    ] = 60,
) -> None:
    """One scheduler sweep: open the checkpoints due by the date (and auto-renew or churn
    contracts whose renewal date has come), then print what it did."""
    day = _parse_day(as_of) if as_of is not None else None
    settings = _settings()
    if wait and settings.event_bus == "kafka":
        raise typer.BadParameter(
            "--wait follows the embedded event log; with RENEWALS_EVENT_BUS=kafka the "
            "workers apply the sweep's events (watch GET /v1/tasks)",
            param_hint="--wait",
        )
    if "RENEWALS_LOG_LEVEL" not in os.environ:
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings.log_format, settings.log_level)
    if day is None:
        at = utcnow()
        day = at.date()
    else:
        at = datetime.combine(day, time(0, 0), tzinfo=UTC)
    done = ticking.tick(
        settings,
        day,
        at,
        wait=wait,
        timeout=timeout,
        echo=typer.echo,
        warn=lambda line: typer.echo(line, err=True),
    )
    if not asyncio.run(done):
        raise typer.Exit(1)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin")] = "read",
) -> None:
    """Create a key and print it (only the key, once)."""
    try:
        parsed = parse_scopes(scopes.split(","))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from exc

    async def create() -> str:
        db = Database(_settings().database_url)
        try:
            async with db.transaction() as session:
                _, plain = await create_key(session, name=name, scopes=parsed)
                return plain
        finally:
            await db.dispose()

    typer.echo(asyncio.run(create()))


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys: id, prefix, name, scopes, created, revoked."""

    async def rows() -> list[str]:
        db = Database(_settings().database_url)
        try:
            async with db.read() as session:
                return [
                    "\t".join(
                        [
                            str(key.id),
                            key.prefix + "…",
                            key.name,
                            ",".join(key.scopes),
                            key.created_at.isoformat(timespec="seconds"),
                            key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-",
                        ]
                    )
                    for key in await list_keys(session)
                ]
        finally:
            await db.dispose()

    typer.echo("id\tprefix\tname\tscopes\tcreated\trevoked")
    for line in asyncio.run(rows()):
        typer.echo(line)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""

    async def revoke() -> bool:
        db = Database(_settings().database_url)
        try:
            async with db.transaction() as session:
                return await revoke_api_key(session, key_id) is not None
        finally:
            await db.dispose()

    if not asyncio.run(revoke()):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


async def _relay(settings: Settings) -> None:
    from services.relay.relay import Relay

    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ops = serving(db, settings, port=settings.relay_metrics_port, draining=stop, check_broker=True)
    try:
        async with ops:
            await Relay(db, settings).run(stop)
    finally:
        await db.dispose()


@app.command()
def relay() -> None:
    """Publish outbox rows to Kafka (distributed mode) until SIGTERM/SIGINT; the batch in
    flight is finished and leadership released before exiting. One relay is active at a
    time; others stand by and take over when it dies. RENEWALS_RELAY_METRICS_PORT serves
    /livez, /readyz (503 while draining) and /metrics."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(_relay(settings))


dlq_app = typer.Typer(
    help="Dead letters: events the worker could not apply (unparseable, invalid, or the "
    "engine raised). The same in both modes: RENEWALS_EVENT_BUS=kafka also sends them to "
    "<RENEWALS_KAFKA_TOPIC>.dlq."
)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many")] = 100,
) -> None:
    """List dead letters, oldest first.

    Columns: id, type, event id, failed at, replayed at (- when not), and the first line
    of the error. Both modes record dead letters in the same table."""
    from services.renewal_worker.dead_letters import list_dead_letters

    async def rows() -> list[str]:
        db = Database(_settings().database_url)
        try:
            return [
                "\t".join(
                    [
                        str(letter.id),
                        letter.type,
                        letter.event_id,
                        letter.failed_at.isoformat(timespec="seconds"),
                        letter.replayed_at.isoformat(timespec="seconds")
                        if letter.replayed_at
                        else "-",
                        (letter.error.strip().splitlines() or [""])[0],
                    ]
                )
                for letter in await list_dead_letters(db, limit=limit)
            ]
        finally:
            await db.dispose()

    typer.echo("id\ttype\tevent_id\tfailed_at\treplayed_at\terror")
    for line in asyncio.run(rows()):
        typer.echo(line)


@dlq_app.command("replay")
def dlq_replay(
    letter_id: Annotated[
        uuid.UUID | None, typer.Argument(help="The dead letter's id (see `dlq list`)")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter not replayed yet")
    ] = False,
) -> None:
    """Hand a dead letter's event back to the engine once its cause is fixed.

    The dead letter is marked replayed. RENEWALS_EVENT_BUS=database: the event goes back
    into the outbox as an unprocessed row with the same CloudEvent. RENEWALS_EVENT_BUS=kafka: it is
    republished to RENEWALS_KAFKA_TOPIC, keyed by its account id. Either way the worker
    applies it once like any other event (it was never in the inbox); if it fails again
    it becomes a new dead letter. Exit 1 when something could not be replayed."""
    from services.renewal_worker.dead_letters import replay

    if (letter_id is None) == (not all_):
        raise typer.BadParameter("give either a dead letter ID or --all")
    settings = _settings()
    configure_logging(settings.log_format, "WARNING")

    async def run() -> list[tuple[str, bool, str]]:
        db = Database(settings.database_url)
        try:
            results = await replay(db, settings, None if all_ else [letter_id])  # type: ignore[list-item]
            return [(str(r.id), r.replayed, r.reason) for r in results]
        finally:
            await db.dispose()

    results = asyncio.run(run())
    for rid, replayed, reason in results:
        typer.echo(f"replayed {rid}" if replayed else f"not replayed {rid}: {reason}")
    if not results:
        typer.echo("no dead letters to replay")
    if any(not replayed for _, replayed, _ in results):
        raise typer.Exit(1)


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(min=1, max=5000, help="Customers to generate")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same portfolio and year")] = 1,
    keep: Annotated[
        Path | None,
        typer.Option(help="Leave the demo's SQLite database here (replaced if it exists)"),
    ] = None,
) -> None:
    """A generated portfolio lives through the past year in a fresh SQLite database of its
    own (never RENEWALS_DATABASE_URL), then the story: tasks, an agenda, the renewal
    pipeline and partner retention."""
    from services.demo.runner import is_configured_database, run
    from services.demo.year import DemoFailed

    settings = _settings()
    if keep is not None and is_configured_database(keep, settings):
        raise typer.BadParameter("is RENEWALS_DATABASE_URL's database", param_hint="--keep")
    if "RENEWALS_LOG_LEVEL" not in os.environ:
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings.log_format, settings.log_level)
    try:
        typer.echo(run(settings, accounts=accounts, seed=seed, keep=keep))
    except DemoFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


from services.report_cli import report_app  # noqa: E402

app.add_typer(report_app, name="report")
