"""The Salesforce connector against a local fake org: Task create, find, update and
completion polling, owners by e-mail, the token's refresh, limits and `check`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.crm_sync.connector import CrmCallFailed, TaskForCrm
from services.crm_sync.salesforce.client import LIMIT_PAUSE_SECONDS
from services.crm_sync.salesforce.connector import SalesforceConnector
from shared.config import Settings
from shared.salesforce_ids import to_18
from tests.crm.fakes.salesforce import TASK_ID_FIELD, FakeSalesforce


def task(fake: FakeSalesforce, **overrides: object) -> TaskForCrm:
    """An open task on a new Account and Opportunity of the fake org; the Opportunity
    named by its 15-character id, as a user may have typed it."""
    values: dict[str, object] = {
        "task_id": uuid.uuid4(),
        "kind": "renewal_prep",
        "title": "Prepare the Acme renewal",
        "description": "Review usage and goals before the renewal call.",
        "due_date": date(2027, 1, 15),
        "priority": "urgent",
        "status": "open",
        "status_reason": None,
        "outcome": None,
        "owner": "Maria@Vendor.example",
        "account_name": "Acme",
        "account_crm_id": fake.add_account(),
        "contract_crm_id": fake.add_opportunity()[:15],
    }
    return TaskForCrm(**(values | overrides))  # type: ignore[arg-type]


def settings(fake: FakeSalesforce, **overrides: object) -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        **(fake.settings | overrides),  # type: ignore[arg-type]
    )


@pytest.fixture
async def connector(fake_salesforce: FakeSalesforce) -> AsyncIterator[SalesforceConnector]:
    made = SalesforceConnector.from_settings(settings(fake_salesforce))
    assert made is not None
    yield made
    await made.aclose()


async def test_a_task_lands_on_the_opportunity_with_its_owner_and_is_found_by_its_id(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    maria = fake_salesforce.add_user("maria@vendor.example")
    ours = task(fake_salesforce)
    created = await connector.create(ours)
    assert fake_salesforce.tasks[created] | {"CreatedDate": None, "LastModifiedDate": None} == {
        "Id": created,
        "Subject": "Prepare the Acme renewal",
        "Description": "Review usage and goals before the renewal call.",
        "ActivityDate": "2027-01-15",
        "Priority": "High",
        "Status": "Not Started",
        "IsClosed": False,
        "WhatId": to_18(str(ours.contract_crm_id)),
        "OwnerId": maria,
        TASK_ID_FIELD: str(ours.task_id),
        "CreatedDate": None,
        "LastModifiedDate": None,
    }
    assert await connector.find(ours.task_id) == created
    assert await connector.find(uuid.uuid4()) is None

    await connector.create(task(fake_salesforce, priority="low"))
    user_lookups = [q for q in fake_salesforce.queries if "FROM User" in q]
    assert user_lookups == [
        "SELECT Id FROM User WHERE Email = 'maria@vendor.example' AND IsActive = true"
        " ORDER BY CreatedDate LIMIT 1"
    ]


async def test_without_an_opportunity_or_a_user_the_task_is_on_the_account_with_the_app(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    ours = task(
        fake_salesforce, contract_crm_id=None, owner="nobody@vendor.example", priority="normal"
    )
    created = await connector.create(ours)
    record = fake_salesforce.tasks[created]
    assert (record["WhatId"], record["OwnerId"], record["Priority"]) == (
        ours.account_crm_id,
        fake_salesforce.run_as,
        "Normal",
    )
    created = await connector.create(
        task(fake_salesforce, contract_crm_id=None, account_crm_id=None)
    )
    assert fake_salesforce.tasks[created]["WhatId"] is None


async def test_ids_that_name_no_record_fail_the_task_for_good(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    with pytest.raises(CrmCallFailed, match="not a Salesforce id") as malformed:
        await connector.create(task(fake_salesforce, contract_crm_id="deal-42"))
    gone = to_18("0065g00000Gone0")
    with pytest.raises(CrmCallFailed, match="INVALID_CROSS_REFERENCE_KEY") as unknown:
        await connector.create(task(fake_salesforce, contract_crm_id=gone))
    assert malformed.value.permanent
    assert unknown.value.permanent
    assert fake_salesforce.tasks == {}


async def test_an_update_brings_the_task_to_our_state_and_closing_says_why(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    ours = task(fake_salesforce)
    created = await connector.create(ours)
    await connector.update(created, replace(ours, title="Renewal call", due_date=date(2027, 2, 1)))
    record = fake_salesforce.tasks[created]
    assert (record["Subject"], record["ActivityDate"]) == ("Renewal call", "2027-02-01")

    dismissed = replace(ours, status="dismissed", status_reason="customer churned early")
    await connector.update(created, dismissed)
    record = fake_salesforce.tasks[created]
    assert (record["Status"], record["IsClosed"]) == ("Completed", True)
    assert record["Description"].endswith(
        "\n\nDismissed in the renewal engine: customer churned early"
    )

    with pytest.raises(CrmCallFailed, match="404") as failed:
        await connector.update(to_18("00T5g00000Gone0"), ours)
    assert failed.value.permanent


async def test_tasks_completed_in_salesforce_are_polled_page_by_page(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    ids = [await connector.create(task(fake_salesforce)) for _ in range(4)]
    fake_salesforce.tasks["00T5g0000000000AAA"] = fake_salesforce.tasks[ids[0]] | {
        "Id": "00T5g0000000000AAA",
        TASK_ID_FIELD: None,
        "Status": "Completed",
    }
    for done in ids[:3]:
        fake_salesforce.complete(done)
    fake_salesforce.page_size = 2

    completed = await connector.completed_since(before)
    assert [item.crm_object_id for item in completed] == ids[:3]
    assert all(item.completed_at >= before for item in completed)
    assert await connector.completed_since(datetime.now(UTC) + timedelta(seconds=2)) == []


async def test_an_expired_token_is_refreshed_once(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    await connector.create(task(fake_salesforce))
    fake_salesforce.expire_token()
    await connector.create(task(fake_salesforce))
    assert fake_salesforce.token_requests == 2
    assert len(fake_salesforce.tasks) == 2


async def test_wrong_credentials_fail_for_good(fake_salesforce: FakeSalesforce) -> None:
    connector = SalesforceConnector.from_settings(
        settings(fake_salesforce, salesforce_client_secret="wrong")
    )
    assert connector is not None
    with pytest.raises(CrmCallFailed, match="invalid_client") as failed:
        await connector.create(task(fake_salesforce))
    assert failed.value.permanent
    problems = await connector.check()
    await connector.aclose()
    assert len(problems) == 1
    assert "RENEWALS_SALESFORCE_CLIENT_SECRET" in problems[0]


async def test_limits_pause_and_outages_are_retried(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    await connector.find(uuid.uuid4())
    fake_salesforce.limit_exceeded = True
    with pytest.raises(CrmCallFailed, match="REQUEST_LIMIT_EXCEEDED") as limited:
        await connector.create(task(fake_salesforce))
    assert (limited.value.retry_after, limited.value.permanent) == (LIMIT_PAUSE_SECONDS, False)
    fake_salesforce.limit_exceeded = False

    fake_salesforce.rate_limited = 7
    with pytest.raises(CrmCallFailed) as throttled:
        await connector.find(uuid.uuid4())
    assert (throttled.value.retry_after, throttled.value.permanent) == (7, False)
    fake_salesforce.rate_limited = None

    fake_salesforce.down = True
    with pytest.raises(CrmCallFailed, match="503") as down:
        await connector.create(task(fake_salesforce))
    assert (down.value.retry_after, down.value.permanent) == (None, False)
    fake_salesforce.down = False
    assert fake_salesforce.tasks == {}

    await connector.create(task(fake_salesforce))
    assert len(fake_salesforce.tasks) == 1


async def test_an_unreachable_org_is_retried(fake_salesforce: FakeSalesforce) -> None:
    connector = SalesforceConnector.from_settings(
        settings(fake_salesforce, salesforce_url="http://127.0.0.1:9")
    )
    assert connector is not None
    with pytest.raises(CrmCallFailed, match="unreachable") as failed:
        await connector.find(uuid.uuid4())
    await connector.aclose()
    assert not failed.value.permanent


async def test_check_names_the_missing_field_and_owners_without_a_user(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    fake_salesforce.add_user("maria@vendor.example")
    assert await connector.check(["maria@vendor.example"]) == []

    fake_salesforce.has_task_id_field = False
    problems = await connector.check(["Maria@vendor.example", "bob@vendor.example", ""])
    assert len(problems) == 2
    assert f"Task has no field {TASK_ID_FIELD}" in problems[0]
    assert "bob@vendor.example" in problems[1]


def test_sync_is_off_unless_the_org_and_credentials_are_set(
    fake_salesforce: FakeSalesforce,
) -> None:
    assert SalesforceConnector.from_settings(Settings()) is None
    polling = SalesforceConnector.from_settings(settings(fake_salesforce))
    pushed_only = SalesforceConnector.from_settings(
        settings(fake_salesforce, salesforce_poll_seconds=0)
    )
    assert polling is not None
    assert pushed_only is not None
    assert (polling.poll_seconds, pushed_only.poll_seconds) == (60, None)


async def test_owner_e_mails_are_quoted_in_soql_and_matched_without_case(
    fake_salesforce: FakeSalesforce, connector: SalesforceConnector
) -> None:
    sean = fake_salesforce.add_user("Sean.O'Brien@Vendor.example")
    created = await connector.create(task(fake_salesforce, owner="sean.o'brien@vendor.example"))
    assert fake_salesforce.tasks[created]["OwnerId"] == sean
