"""`renewals crm check salesforce` and `renewals crm backfill salesforce`, as processes,
against the fake org."""

from __future__ import annotations

import subprocess

from shared.db import Database
from tests.crm.dev import crm_command
from tests.crm.fakes.salesforce import TASK_ID_FIELD, FakeSalesforce
from tests.support.factories import make_account, make_contract, make_task

OWNER = "am@vendor.example"


async def renewals(
    db_url: str, org: FakeSalesforce | None, *args: str, **env_overrides: str
) -> subprocess.CompletedProcess[str]:
    env = None if org is None else org.env | env_overrides
    return await crm_command(db_url, *args, off="RENEWALS_SALESFORCE_", env=env)


async def linked_tasks(db: Database, org: FakeSalesforce, count: int, **task: object) -> None:
    account = await make_account(db, external_ids={"salesforce": org.add_account()})
    contract = await make_contract(db, account, external_ids={"salesforce": org.add_opportunity()})
    for _ in range(count):
        await make_task(db, contract, **({"owner": OWNER} | task))


async def test_check_says_ready_when_nothing_is_missing(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    fake_salesforce.add_user(OWNER)
    db = Database(sqlite_db_url)
    try:
        await linked_tasks(db, fake_salesforce, 2)
    finally:
        await db.dispose()

    checked = await renewals(sqlite_db_url, fake_salesforce, "check", "salesforce")

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "salesforce: ready for task sync.\n"


async def test_check_names_everything_that_is_missing_and_exits_1(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    fake_salesforce.has_task_id_field = False
    db = Database(sqlite_db_url)
    try:
        account = await make_account(db, name="Globex")
        contract = await make_contract(db, account)
        await make_task(db, contract, owner="nobody@vendor.example")
    finally:
        await db.dispose()

    checked = await renewals(sqlite_db_url, fake_salesforce, "check", "salesforce")

    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"Task has no field {TASK_ID_FIELD}: create a custom Activity field of type Text(36)"
        " with that API name (Setup > Object Manager > Activity > Fields)",
        "No Salesforce user has the e-mail nobody@vendor.example (owner of 1 open tasks):"
        " their tasks are assigned to the connected app's Run As user.",
        f"Account 'Globex' ({account.id}) has no external_ids.salesforce: its 1 open tasks"
        " are not associated with an Account.",
        f"Contract of 'Globex' ({contract.id}) has no external_ids.salesforce: its 1 open"
        " tasks are not associated with an Opportunity.",
    ]


async def test_check_with_wrong_or_without_credentials_says_so(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    off = await renewals(sqlite_db_url, None, "check", "salesforce")
    assert off.returncode == 1
    assert "Salesforce task sync is off" in off.stderr

    refused = await renewals(
        sqlite_db_url,
        fake_salesforce,
        "check",
        "salesforce",
        RENEWALS_SALESFORCE_CLIENT_SECRET="not-the-consumer-secret",
    )
    assert refused.returncode == 1
    assert "invalid_client" in refused.stdout


async def test_backfill_pushes_the_open_tasks_once_and_resumes(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    """On SQLite only: the syncer it drives runs on both databases in test_sync.py."""
    db_url = sqlite_db_url
    db = Database(db_url)
    try:
        await linked_tasks(db, fake_salesforce, 3)
        await linked_tasks(db, fake_salesforce, 1, status="done")

        first = await renewals(db_url, fake_salesforce, "backfill", "salesforce")
        assert first.returncode == 0, first.stderr
        assert first.stdout == "salesforce: 3 synced, 0 failed, 0 left retrying\n"
        assert len(fake_salesforce.tasks) == 3

        await linked_tasks(db, fake_salesforce, 1)
        again = await renewals(db_url, fake_salesforce, "backfill", "salesforce")
    finally:
        await db.dispose()

    assert again.stdout == "salesforce: 1 synced, 0 failed, 0 left retrying\n"
    assert len(fake_salesforce.tasks) == 4
