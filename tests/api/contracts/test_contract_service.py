"""The service functions other modules call directly (`POST /v1/events`, other domains)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select

from shared.domain.context import Context
from shared.domain.contracts import service
from shared.domain.contracts.schemas import ContractChurn, ContractRenewal
from shared.models import Contract, OutboxEvent
from tests.api.contracts.factories import make_account, make_contract
from tests.support.api import Harness


async def test_contract_read_loads_terms_the_caller_did_not(api: Harness) -> None:
    account = await make_account(api)
    created = await make_contract(api, account["id"])
    async with api.db.read() as session:
        contract = await session.get(Contract, uuid.UUID(created["id"]))
        assert contract is not None
        read = await service.contract_read(session, contract, "USD")
    assert read.model_dump(mode="json") == created


async def test_operations_use_the_context_time_and_actor(api: Harness) -> None:
    """An event applied late still describes the change as of its own time."""
    account = await make_account(api)
    created = await make_contract(api, account["id"])
    ctx = Context(actor="crm", currency="USD", time=datetime(2027, 2, 1, 12, tzinfo=UTC))
    async with api.db.transaction() as session:
        await session.get(Contract, uuid.UUID(created["id"]))  # terms not loaded yet
        contract_id = uuid.UUID(created["id"])
        renewed = await service.renew_contract(
            session,
            ctx,
            contract_id,
            ContractRenewal.model_validate({"end_date": "2028-03-15", "arr": "5"}),
        )
        assert [term.number for term in renewed.terms] == [1, 2]
        churned = await service.churn_contract(
            session, ctx, contract_id, ContractChurn.model_validate({"reason": "price"})
        )
        assert churned.churned_on == date(2027, 2, 1)
    async with api.db.read() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
    events = [row.event for row in rows if row.stream == "lifecycle"][-2:]
    assert [e["type"] for e in events] == ["contract.renewed", "contract.churned"]
    assert {e["actor"] for e in events} == {"crm"}
    assert {e["time"] for e in events} == {"2027-02-01T12:00:00+00:00"}
    assert events[0]["data"]["stage"] == "adoption"
    assert events[1]["data"]["stage"] == "churned"
