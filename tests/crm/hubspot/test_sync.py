"""Engine tasks pushed to the fake HubSpot portal by the real dispatcher and syncer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import update

from shared.clock import utcnow
from shared.events.types import EventType
from shared.models import CrmTaskSync
from tests.crm.fakes.hubspot import TASK_ID_PROPERTY
from tests.crm.hubspot.conftest import OWNER, Rig, eventually


async def test_an_opened_task_appears_on_its_company_deal_and_owner(rig: Rig) -> None:
    task = await rig.open_task(priority="urgent", title="Call the sponsor")
    await rig.dispatch()

    assert await rig.syncer().step() == 1

    [(hubspot_id, pushed)] = rig.hubspot.tasks.items()
    properties = pushed["properties"]
    assert properties[TASK_ID_PROPERTY] == str(task.id)
    assert properties["hs_task_subject"] == "Call the sponsor"
    assert properties["hs_task_body"] == task.description
    assert properties["hs_task_priority"] == "HIGH"
    assert properties["hs_task_status"] == "NOT_STARTED"
    assert properties["hs_timestamp"] == f"{task.due_date.isoformat()}T12:00:00.000Z"
    assert properties["hubspot_owner_id"] == rig.hubspot.owners[OWNER]
    [company] = rig.hubspot.companies
    [deal] = rig.hubspot.deals
    assert sorted(pushed["associations"]) == [(192, company), (216, deal)]
    row = await rig.row(task.id)
    assert (row.status, row.crm_object_id, row.synced_version) == ("synced", hubspot_id, 1)


async def test_a_task_without_company_deal_or_known_owner_is_still_created(rig: Rig) -> None:
    await rig.open_task(company=False, deal=False, owner="nobody@vendor.example")
    await rig.dispatch()

    await rig.syncer().step()

    [pushed] = rig.hubspot.tasks.values()
    assert pushed["associations"] == []
    assert "hubspot_owner_id" not in pushed["properties"]


async def test_a_closed_task_is_completed_in_hubspot_with_its_reason(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    syncer = rig.syncer()
    await syncer.step()

    await rig.close(task.id, "dismissed", "Customer already renewed by phone")
    await rig.dispatch()
    assert await syncer.step() == 1

    [pushed] = rig.hubspot.tasks.values()
    assert pushed["properties"]["hs_task_status"] == "COMPLETED"
    assert pushed["properties"]["hs_task_body"] == (
        f"{task.description}\n\nDismissed in the renewal engine: Customer already renewed by phone"
    )
    row = await rig.row(task.id)
    assert (row.status, row.synced_version) == ("synced", 2)


async def test_a_notification_seen_twice_changes_nothing(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    await rig.syncer().step()
    synced = await rig.row(task.id)

    await rig.announce(task.id, EventType.TASK_CREATED)
    await rig.dispatch()

    again = await rig.row(task.id)
    assert (again.status, again.wanted_version, again.next_attempt_at) == ("synced", 1, None)
    assert again.updated_at == synced.updated_at
    assert await rig.syncer().step() == 0


async def test_an_answer_lost_after_hubspot_created_the_task_makes_one_task(rig: Rig) -> None:
    """The syncer dies between HubSpot's 201 and its own commit: the next attempt finds
    the task by the engine's id instead of creating a second one."""
    task = await rig.open_task()
    await rig.dispatch()
    rig.hubspot.hang_after_create = True
    doomed = asyncio.create_task(rig.syncer(crm_sync_timeout_seconds=0.5).run(asyncio.Event()))
    await eventually(lambda: _holds(rig, 1))
    doomed.cancel()  # killed: nothing of this attempt is recorded
    await asyncio.gather(doomed, return_exceptions=True)
    rig.hubspot.hang_after_create = False

    survivor = rig.syncer(crm_sync_timeout_seconds=0.5)
    await eventually(lambda: _synced(rig, task.id), step=survivor.step)

    [hubspot_id] = rig.hubspot.tasks
    assert (await rig.row(task.id)).crm_object_id == hubspot_id
    assert ("POST", "/crm/v3/objects/tasks/search") in rig.hubspot.requests


async def test_a_create_that_timed_out_is_looked_up_not_repeated(rig: Rig) -> None:
    """HubSpot made the task but the answer came too late: the retry waits out the claim
    hold (so HubSpot's search sees the task), finds it, and creates nothing."""
    task = await rig.open_task()
    await rig.dispatch()
    rig.hubspot.hang_after_create = True
    syncer = rig.syncer(crm_sync_timeout_seconds=0.3)
    before = utcnow()

    assert await syncer.step() == 1

    row = await rig.row(task.id)
    assert (row.status, row.crm_object_id) == ("pending", None)
    assert "did not answer within 0.3 s" in (row.last_error or "")
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= before + timedelta(seconds=0.6)
    rig.hubspot.hang_after_create = False
    await eventually(lambda: _synced(rig, task.id), step=syncer.step)
    [hubspot_id] = rig.hubspot.tasks
    assert (await rig.row(task.id)).crm_object_id == hubspot_id


async def test_hubspot_down_for_a_while_gets_the_latest_state_after(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    rig.hubspot.down = True
    syncer = rig.syncer()
    await syncer.step()
    row = await rig.row(task.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "503" in (row.last_error or "")

    await rig.close(task.id, "done", "Signed for two more years")
    await rig.dispatch()
    await syncer.step()
    rig.hubspot.down = False
    await eventually(lambda: _synced(rig, task.id), step=syncer.step)

    [pushed] = rig.hubspot.tasks.values()
    assert pushed["properties"]["hs_task_status"] == "COMPLETED"
    assert pushed["properties"]["hs_task_body"].endswith(
        "Done in the renewal engine: Signed for two more years"
    )
    assert (await rig.row(task.id)).synced_version == 2


async def test_hubspot_unreachable_is_retried(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    rig.hubspot.stop()
    syncer = rig.syncer()
    await syncer.step()
    assert "could not be reached" in ((await rig.row(task.id)).last_error or "")

    rig.hubspot.start()
    await eventually(lambda: _synced(rig, task.id), step=syncer.step)


async def test_a_429_pauses_the_task_for_the_time_hubspot_asked(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    rig.hubspot.rate_limit = (0, 10.0)
    rig.hubspot.retry_after_seconds = 30
    syncer = rig.syncer()
    before = utcnow()

    await syncer.step()

    row = await rig.row(task.id)
    assert row.status == "pending"
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= before + timedelta(seconds=29)
    assert "rate limit" in (row.last_error or "")
    calls = len(rig.hubspot.requests)
    await rig.open_task()
    await rig.dispatch()
    await syncer.step()
    assert len(rig.hubspot.requests) == calls, "no call while HubSpot's pause lasts"


async def test_a_permanently_failing_task_does_not_block_the_others(rig: Rig) -> None:
    doomed = await rig.open_task()
    rig.hubspot.companies.clear()  # its company was deleted in HubSpot: a 400, for good
    healthy = await rig.open_task()
    await rig.dispatch()

    await rig.syncer().step()

    failed = await rig.row(doomed.id)
    assert failed.status == "failed"
    assert "400" in (failed.last_error or "")
    assert (await rig.row(healthy.id)).status == "synced"
    assert list(rig.hubspot.ours()) == [str(healthy.id)]


async def test_a_task_still_failing_when_its_retry_window_closes_is_given_up(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    async with rig.db.transaction() as session:
        await session.execute(update(CrmTaskSync).values(retry_until=utcnow()))
    rig.hubspot.down = True
    failed_before = _counted("failed")

    await rig.syncer().step()

    row = await rig.row(task.id)
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert "503" in (row.last_error or "")
    assert _counted("failed") == failed_before + 1


async def test_a_task_changed_while_it_is_pushed_stays_due(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.dispatch()
    syncer = rig.syncer()
    [claimed] = await syncer.claim(1)
    pushed = await syncer.push(claimed)
    await rig.close(task.id, "done", None)
    await rig.dispatch()

    assert await syncer.record(claimed, pushed) == "synced"

    row = await rig.row(task.id)
    assert (row.status, row.synced_version, row.wanted_version) == ("pending", 1, 2)
    await syncer.step()
    [pushed_task] = rig.hubspot.tasks.values()
    assert pushed_task["properties"]["hs_task_status"] == "COMPLETED"
    assert len(rig.hubspot.tasks) == 1


def _counted(outcome: str) -> float:
    """`renewals_crm_sync_total{crm="hubspot",outcome=...}` in this process."""
    value = REGISTRY.get_sample_value(
        "renewals_crm_sync_total", {"crm": "hubspot", "outcome": outcome}
    )
    return value or 0.0


async def _holds(rig: Rig, count: int) -> bool:
    return len(rig.hubspot.tasks) == count


async def _synced(rig: Rig, task_id: object) -> bool:
    rows = [row for row in await rig.rows() if row.task_id == task_id]
    return bool(rows) and rows[0].status == "synced"
