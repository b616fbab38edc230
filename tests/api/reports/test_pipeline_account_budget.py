"""The pipeline's `budget_confirmed` when one budget task covers several contracts: every
contract of the account whose current budget day is the done task's due date counts."""

from __future__ import annotations

from datetime import date

from shared.models import Checkpoint
from tests.support.api import Harness
from tests.support.factories import make_account, make_task
from tests.support.report_factories import contract

PARAMS = {"as_of": "2026-03-01", "within_days": "365"}
BUDGET_DAY = date(2025, 10, 3)


async def _budget_row(api: Harness, contract_id: object, term: int, due: date, status: str) -> None:
    async with api.db.transaction() as session:
        session.add(
            Checkpoint(
                contract_id=contract_id,
                term=term,
                kind="budget_confirmation",
                ordinal=0,
                due_date=due,
                opens_on=due,
                status=status,
            )
        )


async def test_one_done_budget_task_confirms_every_contract_of_its_day(api: Harness) -> None:
    account = await make_account(api.db, name="Acme")
    anchor = await contract(api.db, account, (date(2025, 3, 15), date(2026, 3, 15), 12_000))
    listed = await contract(api.db, account, (date(2025, 5, 1), date(2026, 5, 1), 30_000))
    other_day = await contract(api.db, account, (date(2025, 9, 1), date(2026, 9, 1), 5_000))
    renewed = await contract(
        api.db,
        account,
        (date(2024, 6, 1), date(2025, 6, 1), 8_000),
        (date(2025, 6, 1), date(2026, 6, 1), 8_000),
    )
    await _budget_row(api, anchor.id, 1, BUDGET_DAY, "opened")
    await _budget_row(api, listed.id, 1, BUDGET_DAY, "opened")
    await _budget_row(api, other_day.id, 1, date(2026, 3, 1), "planned")
    await _budget_row(api, renewed.id, 1, BUDGET_DAY, "opened")  # the old term's
    await make_task(
        api.db,
        anchor,
        kind="budget_confirmation",
        term=1,
        status="done",
        due_date=BUDGET_DAY,
        dedupe_key=f"budget_confirmation:{account.id}:{BUDGET_DAY}",
    )

    body = (await api.client.get("/v1/reports/renewals", params=PARAMS)).json()

    assert [(i["contract_id"], i["budget_confirmed"]) for i in body["items"]] == [
        (str(anchor.id), True),
        (str(listed.id), True),
        (str(renewed.id), False),
        (str(other_day.id), False),
    ]
