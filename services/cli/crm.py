"""`renewals crm check|backfill hubspot|salesforce`: set-up of the CRM task sync."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.common import configure_logging, load_settings, open_database, quiet_by_default

if TYPE_CHECKING:
    from services.crm_sync.hubspot import HubSpotConnector
    from services.crm_sync.salesforce.connector import SalesforceConnector
    from shared.config import Settings
    from shared.db import Database

app = typer.Typer(
    help="CRM task sync: check that a CRM is set up for it, and push the open tasks once."
)
LISTED = 20
"""Unlinked accounts and contracts named one by one; the rest are counted."""
WAIT_FOR_RETRIES = timedelta(seconds=60)
"""A backfill waits for retries due this soon (a CRM's rate-limit pause); later ones are
left to the syncer of `renewals worker`."""


class Crm(StrEnum):
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


CrmArgument = Annotated[Crm, typer.Argument(help="The CRM", case_sensitive=False)]

# What the check says per CRM: the settings that turn its sync on, what its account and
# contract ids name there, and what becomes of a task whose owner has no user there.
_OFF = {
    Crm.HUBSPOT: "RENEWALS_HUBSPOT_ACCESS_TOKEN is not set: HubSpot task sync is off.",
    Crm.SALESFORCE: "RENEWALS_SALESFORCE_URL, RENEWALS_SALESFORCE_CLIENT_ID and"
    " RENEWALS_SALESFORCE_CLIENT_SECRET are not set: Salesforce task sync is off.",
}
_RECORDS = {
    Crm.HUBSPOT: ("a HubSpot company", "a HubSpot deal"),
    Crm.SALESFORCE: ("an Account", "an Opportunity"),
}
_UNOWNED = {
    Crm.HUBSPOT: "their tasks are created without an owner",
    Crm.SALESFORCE: "their tasks are assigned to the connected app's Run As user",
}


def _connector(settings: Settings, crm: Crm) -> HubSpotConnector | SalesforceConnector:
    from services.crm_sync.hubspot import HubSpotConnector
    from services.crm_sync.salesforce.connector import SalesforceConnector

    connector: HubSpotConnector | SalesforceConnector | None = (
        HubSpotConnector.from_settings(settings)
        if crm is Crm.HUBSPOT
        else SalesforceConnector.from_settings(settings)
    )
    if connector is None:
        typer.echo(_OFF[crm], err=True)
        raise typer.Exit(1)
    return connector


@app.command("check")
def check(crm: CrmArgument) -> None:
    """Check the credentials (HubSpot: the token and its scopes) and the task id field in
    the CRM, and that the open tasks' owners, accounts and contracts can be found there.

    Prints one sentence per missing piece, then exits 1; prints "ready" and exits 0
    when nothing is missing."""
    settings = quiet_by_default(load_settings())
    configure_logging(settings)
    connector = _connector(settings, crm)
    problems = asyncio.run(_check(open_database(settings), connector, crm))
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{crm.value}: ready for task sync.")


async def _check(
    db: Database, connector: HubSpotConnector | SalesforceConnector, crm: Crm
) -> list[str]:
    from services.crm_sync.connector import CrmCallFailed
    from shared.domain.crm_sync.service import CRM_NAMES
    from shared.domain.crm_sync.setup import open_task_owners, unlinked

    name = CRM_NAMES[crm.value]

    try:
        async with db.read() as session:
            owners = await open_task_owners(session)
            accounts, contracts = await unlinked(session, crm)
        try:
            problems = await connector.check()
            for owner, count in sorted(owners.items()):
                if await connector.owner_id(owner) is None:
                    problems.append(
                        f"No {name} user has the e-mail {owner} (owner of {count} open"
                        f" tasks): {_UNOWNED[crm]}."
                    )
        except CrmCallFailed as exc:
            return [f"{name} could not be checked: {exc}."]
    finally:
        await connector.aclose()
        await db.dispose()
    company, deal = _RECORDS[crm]
    for kind, target, rows in (
        ("Account", company, accounts),
        ("Contract of", deal, contracts),
    ):
        problems += [
            f"{kind} {row.name!r} ({row.id}) has no external_ids.{crm}: its {row.open_tasks}"
            f" open tasks are not associated with {target}."
            for row in rows[:LISTED]
        ]
        if len(rows) > LISTED:
            problems.append(
                f"... and {len(rows) - LISTED} more {kind.split()[0].lower()}s without"
                f" external_ids.{crm}."
            )
    return problems


@app.command("backfill")
def backfill(crm: CrmArgument) -> None:
    """Push every open task to the CRM once (tasks it already has at their current
    version are skipped, so an interrupted backfill resumes where it stopped).

    Shows progress on stderr; ends with how many were synced, failed (see
    `GET /v1/crm-sync?status=failed`) or are left retrying to `renewals worker`.
    Exits 1 when any failed."""
    settings = quiet_by_default(load_settings())
    configure_logging(settings)
    connector = _connector(settings, crm)
    failed = asyncio.run(_backfill(open_database(settings), settings, connector, crm.value))
    if failed:
        raise typer.Exit(1)


async def _backfill(
    db: Database,
    settings: Settings,
    connector: HubSpotConnector | SalesforceConnector,
    crm: str,
) -> int:
    from sqlalchemy import func, select

    from services.crm_sync.syncer import Syncer
    from shared.clock import utcnow
    from shared.domain.crm_sync.setup import want_open_tasks
    from shared.models import CrmTaskSync

    async def pending(within: timedelta | None = None) -> int:
        """Syncs of the CRM still to push (due within `within`, or at all)."""
        query = select(func.count()).where(CrmTaskSync.crm == crm, CrmTaskSync.status == "pending")
        if within is not None:
            query = query.where(CrmTaskSync.next_attempt_at <= utcnow() + within)
        async with db.read() as session:
            return int(await session.scalar(query.select_from(CrmTaskSync)) or 0)

    outcomes: dict[str | None, int] = {}
    try:
        async with db.transaction() as session:
            total = await want_open_tasks(
                session,
                crm,
                now=utcnow(),
                retry_window=timedelta(seconds=settings.webhooks_retry_window_seconds),
            )
        syncer = Syncer(db, settings, [connector])
        done = 0
        while await pending(WAIT_FOR_RETRIES):
            claimed = await syncer.claim(syncer.concurrency)
            if not claimed:
                await asyncio.sleep(1)
                continue
            for outcome in await asyncio.gather(*(syncer.sync(item) for item in claimed)):
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                done += outcome in ("synced", "failed")
            typer.echo(f"\r{crm}: {done}/{total} tasks pushed", nl=False, err=True)
        if total:
            typer.echo("", err=True)
        left = await pending()
    finally:
        await connector.aclose()
        await db.dispose()
    failed = outcomes.get("failed", 0)
    typer.echo(f"{crm}: {outcomes.get('synced', 0)} synced, {failed} failed, {left} left retrying")
    return failed
