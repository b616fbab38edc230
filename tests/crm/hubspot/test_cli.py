"""`renewals crm check hubspot` and `renewals crm backfill hubspot`, as processes, against
the fake portal."""

from __future__ import annotations

import subprocess

from shared.db import Database
from tests.crm.dev import crm_command
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import OWNER
from tests.support.factories import make_account, make_contract, make_task


async def renewals(
    db_url: str, hubspot: FakeHubSpot | None, *args: str
) -> subprocess.CompletedProcess[str]:
    env = (
        None
        if hubspot is None
        else {"RENEWALS_HUBSPOT_ACCESS_TOKEN": TOKEN, "RENEWALS_HUBSPOT_API_URL": hubspot.url}
    )
    return await crm_command(db_url, *args, off="RENEWALS_HUBSPOT_ACCESS_TOKEN", env=env)


async def linked_tasks(db: Database, hubspot: FakeHubSpot, count: int, **task: object) -> None:
    account = await make_account(db, external_ids={"hubspot": hubspot.add_company()})
    contract = await make_contract(db, account, external_ids={"hubspot": hubspot.add_deal()})
    for _ in range(count):
        await make_task(db, contract, **({"owner": OWNER} | task))


async def test_check_says_ready_when_nothing_is_missing(
    sqlite_db_url: str, hubspot: FakeHubSpot
) -> None:
    db = Database(sqlite_db_url)
    try:
        await linked_tasks(db, hubspot, 2)
    finally:
        await db.dispose()

    checked = await renewals(sqlite_db_url, hubspot, "check", "hubspot")

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "hubspot: ready for task sync.\n"


async def test_check_names_everything_that_is_missing_and_exits_1(
    sqlite_db_url: str, hubspot: FakeHubSpot
) -> None:
    hubspot.scopes = ["crm.objects.contacts.read", "crm.objects.contacts.write"]
    hubspot.has_task_id_property = False
    db = Database(sqlite_db_url)
    try:
        account = await make_account(db, name="Globex")
        contract = await make_contract(db, account)
        await make_task(db, contract, owner="nobody@vendor.example")
        await make_task(db, contract, owner="nobody@vendor.example")
    finally:
        await db.dispose()

    checked = await renewals(sqlite_db_url, hubspot, "check", "hubspot")

    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        "The private app lacks the scope crm.objects.owners.read: add it under the app's"
        " Scopes tab.",
        "The portal has no task property renewals_task_id: create it (object Tasks, field"
        " type single-line text, internal name renewals_task_id).",
        "No HubSpot user has the e-mail nobody@vendor.example (owner of 2 open tasks): their"
        " tasks are created without an owner.",
        f"Account 'Globex' ({account.id}) has no external_ids.hubspot: its 2 open tasks are"
        " not associated with a HubSpot company.",
        f"Contract of 'Globex' ({contract.id}) has no external_ids.hubspot: its 2 open tasks"
        " are not associated with a HubSpot deal.",
    ]


async def test_check_without_the_token_says_sync_is_off(sqlite_db_url: str) -> None:
    checked = await renewals(sqlite_db_url, None, "check", "hubspot")

    assert checked.returncode == 1
    assert "RENEWALS_HUBSPOT_ACCESS_TOKEN is not set" in checked.stderr


async def test_backfill_pushes_the_open_tasks_once_and_resumes(
    db_url: str, hubspot: FakeHubSpot
) -> None:
    db = Database(db_url)
    try:
        await linked_tasks(db, hubspot, 3)
        await linked_tasks(db, hubspot, 1, status="done")

        first = await renewals(db_url, hubspot, "backfill", "hubspot")
        assert first.returncode == 0, first.stderr
        assert first.stdout == "hubspot: 3 synced, 0 failed, 0 left retrying\n"
        assert "hubspot: 3/3 tasks pushed" in first.stderr
        assert len(hubspot.tasks) == 3

        await linked_tasks(db, hubspot, 1)
        again = await renewals(db_url, hubspot, "backfill", "hubspot")
    finally:
        await db.dispose()

    assert again.stdout == "hubspot: 1 synced, 0 failed, 0 left retrying\n"
    assert len(hubspot.tasks) == 4
    assert len(hubspot.ours()) == 4
