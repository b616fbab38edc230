"""Which REST operation each client-sent lifecycle type stands for."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.accounts import service as accounts
from shared.domain.accounts.schemas import AccountCreate, AccountUpdate
from shared.domain.context import Context
from shared.domain.contracts import service as contracts
from shared.domain.contracts import trials
from shared.domain.contracts.schemas import (
    CancellationNotice,
    CancellationWithdrawal,
    ContractChurn,
    ContractCreate,
    ContractRenewal,
    ContractUpdate,
)
from shared.domain.goals import service as goals
from shared.domain.goals.schemas import GoalCreate, GoalUpdate
from shared.domain.partners import service as partners
from shared.domain.partners.schemas import PartnerCreate, PartnerUpdate
from shared.domain.stakeholders import service as stakeholders
from shared.domain.stakeholders.schemas import StakeholderCreate, StakeholderUpdate
from shared.domain.usage import service as usage
from shared.domain.usage.schemas import UsageCreate
from shared.enums import StakeholderStatus
from shared.events.types import EventType
from shared.models import Stakeholder


@dataclass(frozen=True, slots=True)
class IdField:
    """An id in `data` (`id`, `account_id`, …) that may be replaced by external ids."""

    name: str
    entity: str

    @property
    def external_name(self) -> str:
        return (
            "external_ids" if self.name == "id" else self.name.removesuffix("_id") + "_external_ids"
        )


@dataclass(frozen=True, slots=True)
class EventRoute:
    apply: Callable[..., Awaitable[Any]]
    body: type[BaseModel]
    path_ids: tuple[IdField, ...] = ()
    body_ids: tuple[IdField, ...] = ()


async def _depart(
    session: AsyncSession, ctx: Context, stakeholder_id: uuid.UUID, body: StakeholderUpdate
) -> Stakeholder:
    """`stakeholder.departed` is a PATCH to `departed`, whatever else the data says."""
    changes = body.model_dump(exclude_unset=True) | {"status": StakeholderStatus.DEPARTED}
    return await stakeholders.update_stakeholder(
        session, ctx, stakeholder_id, StakeholderUpdate.model_validate(changes)
    )


PARTNER = IdField("id", "partner")
ACCOUNT = IdField("id", "account")
CONTRACT = IdField("id", "contract")
STAKEHOLDER = IdField("id", "stakeholder")
PARENT_ACCOUNT = IdField("account_id", "account")
PARENT_CONTRACT = IdField("contract_id", "contract")

ROUTES: dict[str, EventRoute] = {
    EventType.PARTNER_CREATED: EventRoute(partners.create_partner, PartnerCreate),
    EventType.PARTNER_UPDATED: EventRoute(partners.update_partner, PartnerUpdate, (PARTNER,)),
    EventType.ACCOUNT_CREATED: EventRoute(accounts.create_account, AccountCreate),
    EventType.ACCOUNT_UPDATED: EventRoute(accounts.update_account, AccountUpdate, (ACCOUNT,)),
    EventType.CONTRACT_CREATED: EventRoute(
        contracts.create_contract, ContractCreate, body_ids=(PARENT_ACCOUNT,)
    ),
    EventType.CONTRACT_UPDATED: EventRoute(contracts.update_contract, ContractUpdate, (CONTRACT,)),
    EventType.CONTRACT_RENEWED: EventRoute(contracts.renew_contract, ContractRenewal, (CONTRACT,)),
    EventType.CONTRACT_CHURNED: EventRoute(contracts.churn_contract, ContractChurn, (CONTRACT,)),
    EventType.CONTRACT_CANCELLATION_NOTICED: EventRoute(
        contracts.notice_cancellation, CancellationNotice, (CONTRACT,)
    ),
    EventType.CONTRACT_CANCELLATION_WITHDRAWN: EventRoute(
        contracts.withdraw_cancellation, CancellationWithdrawal, (CONTRACT,)
    ),
    EventType.CONTRACT_TRIAL_STARTED: EventRoute(
        trials.start_trial, trials.TrialCreate, (PARENT_CONTRACT,)
    ),
    EventType.STAKEHOLDER_ADDED: EventRoute(
        stakeholders.add_stakeholder, StakeholderCreate, (PARENT_ACCOUNT,)
    ),
    EventType.STAKEHOLDER_UPDATED: EventRoute(
        stakeholders.update_stakeholder, StakeholderUpdate, (STAKEHOLDER,)
    ),
    EventType.STAKEHOLDER_DEPARTED: EventRoute(_depart, StakeholderUpdate, (STAKEHOLDER,)),
    EventType.USAGE_REPORTED: EventRoute(usage.report_usage, UsageCreate, (PARENT_CONTRACT,)),
    EventType.GOAL_CREATED: EventRoute(goals.create_goal, GoalCreate, (PARENT_CONTRACT,)),
    EventType.GOAL_UPDATED: EventRoute(goals.update_goal, GoalUpdate, (IdField("id", "goal"),)),
}
