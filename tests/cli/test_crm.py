"""`renewals crm check|backfill salesforce`: the set-up commands work for every CRM in the
registry (HubSpot's are in tests/crm/hubspot/test_cli.py)."""

from __future__ import annotations

import asyncio
import subprocess

from shared.db import Database
from shared.salesforce_ids import to_18
from tests.crm.fakes.salesforce import FakeSalesforce
from tests.support.cli import RENEWALS, cli_env
from tests.support.factories import make_account, make_contract, make_task

OWNER = "maria@vendor.example"


async def renewals(
    db_url: str, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [RENEWALS, "crm", *args],
        env=cli_env(db_url) | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_backfill_salesforce_pushes_the_open_tasks_then_check_says_ready(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    fake_salesforce.add_user(OWNER)
    db = Database(sqlite_db_url)
    try:
        account = await make_account(db, external_ids={"salesforce": to_18("0015g00000AcmeX")})
        contract = await make_contract(
            db, account, external_ids={"salesforce": to_18("0065g00000Renew")}
        )
        for _ in range(2):
            await make_task(db, contract, owner=OWNER)
    finally:
        await db.dispose()

    pushed = await renewals(sqlite_db_url, fake_salesforce.env, "backfill", "salesforce")
    checked = await renewals(sqlite_db_url, fake_salesforce.env, "check", "salesforce")

    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == "salesforce: 2 synced, 0 failed, 0 left retrying\n"
    assert len(fake_salesforce.tasks) == 2
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout == "salesforce: ready for task sync.\n"


async def test_check_salesforce_without_its_settings_says_sync_is_off(sqlite_db_url: str) -> None:
    checked = await renewals(sqlite_db_url, {}, "check", "salesforce")

    assert checked.returncode == 1
    assert checked.stderr == (
        "Salesforce task sync is off: set RENEWALS_SALESFORCE_URL,"
        " RENEWALS_SALESFORCE_CLIENT_ID and RENEWALS_SALESFORCE_CLIENT_SECRET.\n"
    )
