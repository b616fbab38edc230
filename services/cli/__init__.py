"""The `renewals` command line (the entry point `services.cli:app`).

The composition root: its commands start every process and may import every service,
each inside the command that runs it, so a command loads only what it uses (and
`renewals --help` next to nothing). One module per command group."""

from __future__ import annotations

import typer

from services.cli import (
    apikey,
    crm,
    demo,
    dlq,
    forecast,
    migrate,
    relay,
    report,
    secrets,
    serve,
    tick,
    worker,
)

app = typer.Typer(help="Renewal engine: keeps B2B contracts from being lost at renewal.")
app.command()(migrate.migrate)
app.command()(serve.api)
app.command()(serve.dev)
app.command()(worker.worker)
app.command(name="crm-sync")(worker.crm_sync)
app.command()(tick.tick)
app.command()(relay.relay)
app.command()(demo.demo)
app.add_typer(apikey.app, name="apikey")
app.add_typer(crm.app, name="crm")
app.add_typer(dlq.app, name="dlq")
app.add_typer(forecast.app, name="forecast")
app.add_typer(report.app, name="report")
app.add_typer(secrets.app, name="secrets")

__all__ = ["app"]
