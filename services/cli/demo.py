"""`renewals demo`: a generated portfolio lives through a year, then tells its story."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.common import configure_logging, load_settings, quiet_by_default


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
    from services.renewal_worker.ticking import tick

    settings = load_settings()
    if keep is not None and is_configured_database(keep, settings):
        raise typer.BadParameter("is RENEWALS_DATABASE_URL's database", param_hint="--keep")
    settings = quiet_by_default(settings)
    configure_logging(settings)
    try:
        typer.echo(run(settings, accounts=accounts, seed=seed, keep=keep, sweep=tick))
    except DemoFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
