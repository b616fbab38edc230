"""The HubSpot connector against the fake portal: what each answer becomes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from services.crm_sync.connector import CrmCallFailed, TaskForCrm
from services.crm_sync.hubspot import HubSpotConnector
from shared.clock import utcnow
from shared.config import Settings
from shared.domain.crm_sync.wanted import enabled_crms
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import OWNER


def a_task(**overrides: object) -> TaskForCrm:
    values: dict[str, object] = {
        "task_id": uuid.uuid4(),
        "kind": "kickoff",
        "title": "Kick-off call",
        "description": "Meet the team.",
        "due_date": date(2026, 3, 18),
        "priority": "normal",
        "status": "open",
        "status_reason": None,
        "outcome": None,
        "owner": OWNER,
        "account_name": "Acme Corp",
        "account_crm_id": None,
        "contract_crm_id": None,
    }
    return TaskForCrm(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
async def connector(hubspot: FakeHubSpot) -> AsyncIterator[HubSpotConnector]:
    made = HubSpotConnector(token=TOKEN, api_url=hubspot.url, timeout=2.0, poll_seconds=None)
    yield made
    await made.aclose()


@pytest.mark.parametrize("token", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_without_a_token_hubspot_sync_is_off(token: str | None) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", hubspot_access_token=token)

    assert HubSpotConnector.from_settings(settings) is None
    assert enabled_crms(settings) == []


async def test_find_looks_the_task_up_by_the_engine_task_id(connector: HubSpotConnector) -> None:
    task = a_task()
    assert await connector.find(task.task_id) is None

    created = await connector.create(task)

    assert await connector.find(task.task_id) == created
    assert await connector.find(uuid.uuid4()) is None


async def test_owners_are_looked_up_once(connector: HubSpotConnector, hubspot: FakeHubSpot) -> None:
    await connector.create(a_task())
    await connector.create(a_task(owner=OWNER.upper()))

    assert hubspot.requests.count(("GET", "/crm/v3/owners/")) == 1


async def test_a_wrong_token_is_retried_not_given_up(hubspot: FakeHubSpot) -> None:
    """A token or scope problem is fixed in the portal; the tasks then catch up."""
    wrong = HubSpotConnector(token="pat-wrong", api_url=hubspot.url, timeout=2.0, poll_seconds=None)
    try:
        with pytest.raises(CrmCallFailed) as failed:
            await wrong.create(a_task())
    finally:
        await wrong.aclose()
    assert not failed.value.permanent
    assert "401" in str(failed.value)


async def test_a_portal_without_the_task_id_property_refuses_for_good(
    connector: HubSpotConnector, hubspot: FakeHubSpot
) -> None:
    hubspot.has_task_id_property = False

    with pytest.raises(CrmCallFailed) as failed:
        await connector.create(a_task())

    assert failed.value.permanent
    assert 'Property "renewals_task_id" does not exist' in str(failed.value)


async def test_hubspot_down_is_retried(connector: HubSpotConnector, hubspot: FakeHubSpot) -> None:
    hubspot.down = True

    with pytest.raises(CrmCallFailed) as failed:
        await connector.find(uuid.uuid4())

    assert not failed.value.permanent


async def test_completed_tasks_are_found_since_a_time(
    connector: HubSpotConnector, hubspot: FakeHubSpot
) -> None:
    before = utcnow() - timedelta(seconds=1)
    done, still_open = await connector.create(a_task()), await connector.create(a_task())
    hubspot.complete(done)

    found = await connector.completed_since(before)

    assert [item.crm_object_id for item in found] == [done]
    assert still_open not in {item.crm_object_id for item in found}
    assert await connector.completed_since(utcnow() + timedelta(minutes=1)) == []


async def test_completed_tasks_are_read_page_by_page(
    connector: HubSpotConnector, hubspot: FakeHubSpot
) -> None:
    connector.search_page = 2
    before = utcnow() - timedelta(seconds=1)
    done = [await connector.create(a_task()) for _ in range(5)]
    for hubspot_id in done:
        hubspot.complete(hubspot_id)

    found = await connector.completed_since(before)

    assert sorted(item.crm_object_id for item in found) == sorted(done)
    searches = hubspot.requests.count(("POST", "/crm/v3/objects/tasks/search"))
    assert searches == 3


async def test_check_is_empty_when_all_is_in_place(connector: HubSpotConnector) -> None:
    assert await connector.check() == []


async def test_check_names_each_missing_scope_and_the_missing_property(
    connector: HubSpotConnector, hubspot: FakeHubSpot
) -> None:
    hubspot.scopes = ["crm.objects.contacts.read"]
    hubspot.has_task_id_property = False

    assert await connector.check() == [
        "The private app lacks the scope crm.objects.contacts.write: add it under the app's"
        " Scopes tab.",
        "The private app lacks the scope crm.objects.owners.read: add it under the app's"
        " Scopes tab.",
        "The portal has no task property renewals_task_id: create it (object Tasks, field"
        " type single-line text, internal name renewals_task_id).",
    ]


async def test_check_says_when_the_token_is_unknown(hubspot: FakeHubSpot) -> None:
    wrong = HubSpotConnector(token="pat-wrong", api_url=hubspot.url, timeout=2.0, poll_seconds=None)
    try:
        assert await wrong.check() == [
            "HubSpot does not know the access token: copy it again from the private app's"
            " Auth tab into RENEWALS_HUBSPOT_ACCESS_TOKEN."
        ]
    finally:
        await wrong.aclose()
