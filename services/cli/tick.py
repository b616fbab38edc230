"""`renewals tick`: one scheduler sweep for a date (backfills, demos, tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Annotated

import typer

from services.cli.common import configure_logging, load_settings, quiet_by_default


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
    """One scheduler sweep: open the checkpoints due by the date, note the tasks that
    passed 14 days overdue (and auto-renew or churn contracts whose renewal date has
    come), then print what it did."""
    from services.renewal_worker import ticking
    from shared.clock import utcnow

    day = _parse_day(as_of) if as_of is not None else None
    settings = load_settings()
    if wait and settings.event_bus == "kafka":
        raise typer.BadParameter(
            "--wait follows the embedded event log; with RENEWALS_EVENT_BUS=kafka the "
            "workers apply the sweep's events (watch GET /v1/tasks)",
            param_hint="--wait",
        )
    settings = quiet_by_default(settings)
    configure_logging(settings)
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


def _parse_day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc
