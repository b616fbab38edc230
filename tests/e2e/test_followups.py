"""Implementation follow-ups through the API: each opens a week before its due date and
takes over from the one before it."""

from __future__ import annotations

import pytest

from tests.e2e.crm import InProcessCrm, assert_playbook
from tests.support.api import Harness

pytestmark = pytest.mark.slow


async def test_followups_open_every_two_weeks_and_supersede_each_other(api: Harness) -> None:
    crm = InProcessCrm(api)
    account = await crm.account("Initech", budget_lead_days=90)
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z", arr="150000")

    await crm.tick("2026-03-22")
    (first,) = await crm.tasks(contract_id=contract, kind="implementation_followup")
    assert (first["due_date"], first["status"], first["priority"]) == ("2026-03-29", "open", "high")
    assert_playbook(first, "roll-out", "150,000.00 USD")

    await crm.tick("2026-04-19")
    followups = await crm.tasks(contract_id=contract, kind="implementation_followup")
    assert [(t["due_date"], t["status"]) for t in followups] == [
        ("2026-03-29", "auto_closed"),
        ("2026-04-26", "open"),
    ]
    assert followups[0]["status_reason"].startswith("superseded")
    await crm.tick_again_adds_nothing("2026-04-19")
