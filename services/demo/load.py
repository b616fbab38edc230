"""Puts a generated portfolio into the database through the service functions that REST
and `/v1/events` call, so every row comes with its lifecycle event in the outbox and the
engine plans and opens tasks exactly as it would for real customers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from services.demo.portfolio import Portfolio, Stakeholder
from shared.db import Database
from shared.domain.accounts.schemas import AccountCreate
from shared.domain.accounts.service import create_account
from shared.domain.context import Context
from shared.domain.contracts.schemas import ContractCreate
from shared.domain.contracts.service import create_contract
from shared.domain.goals.schemas import GoalCreate
from shared.domain.goals.service import create_goal
from shared.domain.partners.schemas import PartnerCreate
from shared.domain.partners.service import create_partner
from shared.domain.stakeholders.schemas import StakeholderCreate
from shared.domain.stakeholders.service import add_stakeholder

ACTOR = "demo"


@dataclass
class Ids:
    """The database id of each generated entity, by its portfolio key."""

    partners: dict[str, uuid.UUID] = field(default_factory=dict)
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    stakeholders: dict[str, uuid.UUID] = field(default_factory=dict)
    contracts: dict[str, uuid.UUID] = field(default_factory=dict)
    goals: dict[str, uuid.UUID] = field(default_factory=dict)


def context_on(day: date, currency: str) -> Context:
    """A change made on `day` (09:00 UTC): the engine's "now" is the event's time."""
    return Context(
        actor=ACTOR, currency=currency, time=datetime.combine(day, time(9, 0), tzinfo=UTC)
    )


def stakeholder_body(person: Stakeholder) -> StakeholderCreate:
    return StakeholderCreate.model_validate(
        {"name": person.name, "email": person.email, "role": person.role}
    )


async def load(db: Database, portfolio: Portfolio, currency: str) -> Ids:
    """One transaction per account, all dated the portfolio's `as_of`: contracts already
    running are imported (their past checkpoints are skipped), new deals start later."""
    ctx = context_on(portfolio.as_of, currency)
    ids = Ids()
    async with db.transaction() as session:
        for partner in portfolio.partners:
            partner_body = PartnerCreate.model_validate(
                {"name": partner.name, "tier": partner.tier}
            )
            ids.partners[partner.key] = (await create_partner(session, ctx, partner_body)).id
    contracts_of: dict[str, list[int]] = {}
    for index, contract in enumerate(portfolio.contracts):
        contracts_of.setdefault(contract.account, []).append(index)
    for account in portfolio.accounts:
        async with db.transaction() as session:
            body = AccountCreate.model_validate(
                {
                    "name": account.name,
                    "fiscal_year_start_month": account.fiscal_year_start_month,
                    "budget_lead_days": account.budget_lead_days,
                    "owner": account.owner,
                    "partner_id": ids.partners[account.partner] if account.partner else None,
                    "external_ids": {"crm": account.key},
                }
            )
            account_id = (await create_account(session, ctx, body)).id
            ids.accounts[account.key] = account_id
            for person in account.stakeholders:
                added = await add_stakeholder(session, ctx, account_id, stakeholder_body(person))
                ids.stakeholders[person.key] = added.id
            for index in contracts_of.get(account.key, []):
                contract = portfolio.contracts[index]
                created = await create_contract(
                    session,
                    ctx,
                    ContractCreate(
                        account_id=account_id,
                        start_date=contract.start,
                        end_date=contract.end,
                        arr=Decimal(contract.arr),
                        seats=contract.seats,
                        pilot_start=contract.pilot_start,
                        pilot_end=contract.pilot_end,
                        trial_end=contract.trial_end,
                        auto_renew=contract.auto_renew,
                        notice_period_days=contract.notice_period_days,
                        external_ids={"crm": contract.key},
                    ),
                )
                ids.contracts[contract.key] = created.id
                for goal in contract.goals:
                    body_goal = GoalCreate.model_validate(
                        {"name": goal.name, "target": goal.target}
                    )
                    ids.goals[goal.key] = (
                        await create_goal(session, ctx, created.id, body_goal)
                    ).id
    return ids
