"""A task whose due date the worker moves is judged again from its new date: its
`overdue_noted_on` is cleared, so the sweep notes it (and emits `task.overdue`) once the
new date is 14 days past."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from shared.models import Task
from tests.e2e.crm import InProcessCrm
from tests.support.api import Harness


async def _kickoff(api: Harness) -> Task:
    async with api.db.read() as session:
        task = await session.scalar(select(Task).where(Task.kind == "kickoff"))
        assert task is not None
        return task


async def test_moving_a_due_date_clears_the_overdue_note(api: Harness) -> None:
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    await crm.tick("2026-03-11")  # the kickoff task, due 2026-03-18
    await crm.tick("2026-04-02")
    noted = await _kickoff(api)
    assert (noted.due_date, noted.overdue_noted_on) == (date(2026, 3, 18), date(2026, 4, 2))

    moved = {"id": contract, "start_date": "2026-04-01"}
    await crm.send("contract.updated", "2026-04-03T10:00:00Z", moved)
    await crm.tick("2026-04-03")
    task = await _kickoff(api)
    assert (task.due_date, task.overdue_noted_on) == (date(2026, 4, 4), None)

    await crm.tick("2026-04-19")
    assert (await _kickoff(api)).overdue_noted_on == date(2026, 4, 19)
    overdue = [e["data"]["due_date"] for e in await api.events("task.overdue")]
    assert overdue == ["2026-03-18", "2026-04-04"]
