"""Add-on trials: more users or modules tried on a running contract, on any term.

When a trial ends without an order, what it unlocked is blocked, so the engine gives each
trial its own `trial_ending` task a week before it ends. Trials are immutable records
(like usage reports): there is no update or delete, so the engine's numbering of a
contract's trials by creation never changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.contracts.service import get_contract
from shared.domain.errors import Conflict
from shared.domain.pagination import fetch_page
from shared.domain.schemas import Day, InputModel, Name, OutputModel
from shared.enums import ContractStatus
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import ContractTrial

DEFAULT_TRIAL_DAYS = 30
TrialName = Annotated[
    Name,
    Field(
        description="What is tried, e.g. '20 more users' or 'Reporting module'; "
        "no control characters"
    ),
]


class TrialCreate(InputModel):
    name: TrialName
    started_on: Day
    ends_on: Day | None = Field(
        default=None, description="Omitted: started_on + 30 days; not before started_on"
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_on is not None and self.ends_on < self.started_on:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "date_order",
                            "must be on or after started_on ({started_on})",
                            {"started_on": self.started_on.isoformat()},
                        ),
                        loc=("ends_on",),
                        input=self.ends_on,
                    )
                ],
            )
        return self

    @property
    def end(self) -> date:
        return self.ends_on or self.started_on + timedelta(days=DEFAULT_TRIAL_DAYS)


class TrialRead(OutputModel):
    """`account_id` is the contract's, so listeners can key the trial without a lookup."""

    id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    name: str
    started_on: date
    ends_on: date
    created_at: datetime


class TrialPage(OutputModel):
    items: list[TrialRead]
    next_cursor: str | None


def read_trial(trial: ContractTrial, account_id: uuid.UUID) -> TrialRead:
    return TrialRead(
        id=trial.id,
        contract_id=trial.contract_id,
        account_id=account_id,
        name=trial.name,
        started_on=trial.started_on,
        ends_on=trial.ends_on,
        created_at=trial.created_at,
    )


async def start_trial(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: TrialCreate
) -> TrialRead:
    """Emits `contract.trial_started` (subject: the contract), which makes the engine
    plan the trial's `trial_ending` checkpoint. A churned contract has nothing left to
    extend: a trial on it is a conflict, not a task nobody can act on."""
    contract = await get_contract(session, contract_id, field="contract_id", lock=True)
    if contract.status == ContractStatus.CHURNED:
        raise Conflict(f"contract {contract.id} has churned and cannot start a trial")
    trial = ContractTrial(
        contract_id=contract.id, name=body.name, started_on=body.started_on, ends_on=body.end
    )
    session.add(trial)
    await session.flush()
    data = read_trial(trial, contract.account_id)
    emit(
        session,
        type=EventType.CONTRACT_TRIAL_STARTED,
        source=ctx.source,
        subject=str(contract.id),
        partition_key=str(contract.account_id),
        data=data.model_dump(mode="json"),
        dataschema=dataschema("trial"),
        actor=ctx.actor,
        time=ctx.time,
    )
    return data


async def list_trials(
    session: AsyncSession, contract_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[TrialRead], str | None]:
    """In the order they were recorded, the order the engine numbers them in."""
    contract = await get_contract(session, contract_id, field="contract_id")
    query = select(ContractTrial).where(ContractTrial.contract_id == contract_id)
    rows: Sequence[ContractTrial]
    rows, next_cursor = await fetch_page(
        session, query, ContractTrial.id, limit=limit, cursor=cursor
    )
    return [read_trial(row, contract.account_id) for row in rows], next_cursor
