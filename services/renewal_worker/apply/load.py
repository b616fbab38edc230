"""ORM rows → the engine's facts: what the pure engine is given about an account.

The engine decides from an account's whole state (its contracts with their terms,
checkpoints, tasks, stakeholders, goals and latest usage). This module reads those rows
in a fixed number of queries per chunk of accounts, keeps them for the events of a batch
(`preload_accounts`, `take_account`, `keep_account`), and turns them into
`AccountFacts`. The writer (`write`) changes the same rows, so after an event they are
what a fresh load would read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import ColumnElement, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, selectinload

from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    GoalFacts,
    StakeholderFacts,
    TaskFacts,
    Term,
    TrialFacts,
    UsageFacts,
)
from shared.models import (
    Account,
    Checkpoint,
    Contract,
    ContractTrial,
    Goal,
    Partner,
    Stakeholder,
    Task,
    UsageReport,
)
from shared.money import from_minor
from shared.rules.types import Priority

_V = TypeVar("_V")
IN_CHUNK = 500
"""Ids per `IN` list: bounded so a big batch stays within every driver's parameter limit."""


def in_chunks(values: Sequence[_V]) -> Iterator[list[_V]]:
    """`values` in slices of at most `IN_CHUNK`, one per `IN` list."""
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start : start + IN_CHUNK])


def among(
    session: AsyncSession,
    column: ColumnElement[_V] | QueryableAttribute[_V],
    values: Sequence[_V],
) -> ColumnElement[bool]:
    """`column IN values`, on Postgres as `column = ANY(:values)`: one array parameter
    keeps the statement's text the same whatever the number of values, so it is
    compiled and prepared once per connection instead of once per length (an `IN` list
    of 500 values cost SQLAlchemy more to expand than Postgres to run)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)


def _contract_facts(
    contract: Contract,
    currency: str,
    partner_names: dict[uuid.UUID, str],
    trials: Sequence[ContractTrial] = (),
) -> ContractFacts:
    return ContractFacts(
        id=str(contract.id),
        account_id=str(contract.account_id),
        partner_id=str(contract.partner_id) if contract.partner_id else None,
        start_date=contract.start_date,
        pilot_start=contract.pilot_start,
        pilot_end=contract.pilot_end,
        trial_end=contract.trial_end,
        auto_renew=contract.auto_renew,
        notice_period_days=contract.notice_period_days,
        terms=tuple(
            Term(t.number, t.start_date, t.end_date, from_minor(t.arr_minor, currency))
            for t in contract.terms
        ),
        churned_on=contract.churned_on if contract.status == "churned" else None,
        churn_reason=contract.churn_reason,
        cancellation_notice_on=contract.cancellation_notice_on,
        health_band=contract.health_band,
        health_score=contract.health_score,
        health_signals=tuple((s["signal"], int(s["points"])) for s in contract.health_signals),
        partner_name=partner_names.get(contract.partner_id) if contract.partner_id else None,
        trials=tuple(
            TrialFacts(str(t.id), t.name, t.started_on, t.ends_on)
            for t in trials
            if t.contract_id == contract.id
        ),
        external_ids=tuple(sorted((str(k), str(v)) for k, v in contract.external_ids.items())),
        cancellation_notice_late=contract.cancellation_notice_late,
    )


def checkpoint_identity(cp: Checkpoint) -> CheckpointId:
    return (str(cp.contract_id), cp.term, cp.kind, cp.ordinal)


@dataclass(slots=True)
class LoadedAccount:
    """An account's rows, from which its facts for the engine are built. The writes of
    `write` go to these same rows (and add the ones it creates), so after an event they
    are what a fresh load would read, without querying again; holding them also keeps
    them in the session's weak identity map."""

    account: Account
    contracts: list[Contract] = field(default_factory=list)
    checkpoints: dict[CheckpointId, Checkpoint] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    stakeholders: list[Stakeholder] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    latest_usage: dict[str, UsageFacts] = field(default_factory=dict)
    latest_usage_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    """The id of each contract's latest report, to tell whether it was received after
    the report an event is about."""
    partner_names: dict[uuid.UUID, str] = field(default_factory=dict)
    """The names of the partners its contracts were sold by, for the task texts."""
    trials: list[ContractTrial] = field(default_factory=list)
    """The add-on trials of its contracts, in the order they were recorded (by id)."""

    def contract(self, contract_id: str) -> Contract | None:
        return next((c for c in self.contracts if str(c.id) == contract_id), None)

    def facts(
        self, currency: str, latest_usage: dict[str, UsageFacts] | None = None
    ) -> AccountFacts:
        """Checkpoints are given in identity order, so a checkpoint written during the
        batch sits where a fresh load would put it."""
        account = self.account
        checkpoints = sorted(self.checkpoints.items())
        identities = {cp.id: identity for identity, cp in checkpoints}
        return AccountFacts(
            id=str(account.id),
            name=account.name,
            owner=account.owner,
            fiscal_year_start_month=account.fiscal_year_start_month,
            budget_lead_days=account.budget_lead_days,
            contracts=tuple(
                _contract_facts(c, currency, self.partner_names, self.trials)
                for c in self.contracts
            ),
            checkpoints=tuple(
                CheckpointFacts(*identity, cp.due_date, cp.opens_on, cp.status)
                for identity, cp in checkpoints
            ),
            tasks=tuple(
                TaskFacts(
                    dedupe_key=t.dedupe_key,
                    contract_id=str(t.contract_id),
                    kind=t.kind,
                    due_date=t.due_date,
                    status=t.status,
                    description=t.description,
                    owner=t.owner,
                    term=t.term,
                    checkpoint=identities.get(t.checkpoint_id) if t.checkpoint_id else None,
                    priority=Priority(t.priority),
                )
                for t in self.tasks
            ),
            stakeholders=tuple(
                StakeholderFacts(str(s.id), s.name, s.role, s.status) for s in self.stakeholders
            ),
            goals=tuple(
                GoalFacts(str(g.id), str(g.contract_id), g.name, g.status, g.target)
                for g in self.goals
            ),
            latest_usage=self.latest_usage if latest_usage is None else latest_usage,
        )


async def latest_reports(
    session: AsyncSession,
    contract_ids: Sequence[uuid.UUID],
    usage_up_to: uuid.UUID | None = None,
) -> dict[str, tuple[uuid.UUID, UsageFacts]]:
    """Each contract's latest report (by `as_of`, then id) and its id, in one query per
    chunk."""
    latest: dict[str, tuple[uuid.UUID, UsageFacts]] = {}
    for chunk in in_chunks(contract_ids):
        ranked = select(
            UsageReport.id,
            UsageReport.contract_id,
            UsageReport.active_users,
            UsageReport.seats,
            UsageReport.as_of,
            func.row_number()
            .over(
                partition_by=UsageReport.contract_id,
                order_by=(UsageReport.as_of.desc(), UsageReport.id.desc()),
            )
            .label("rank"),
        ).where(among(session, UsageReport.contract_id, chunk))
        if usage_up_to is not None:
            ranked = ranked.where(UsageReport.id <= usage_up_to)
        row = ranked.subquery()
        reports = await session.execute(
            select(row.c.id, row.c.contract_id, row.c.active_users, row.c.seats, row.c.as_of).where(
                row.c.rank == 1
            )
        )
        for report_id, contract_id, active_users, seats, as_of in reports:
            usage = UsageFacts(str(contract_id), active_users, seats, as_of)
            latest[str(contract_id)] = (report_id, usage)
    return latest


async def partner_names(session: AsyncSession, partner_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these partners, in one query per chunk."""
    names: dict[uuid.UUID, str] = {}
    for chunk in in_chunks(sorted(partner_ids)):
        for partner_id, name in await session.execute(
            select(Partner.id, Partner.name).where(among(session, Partner.id, chunk))
        ):
            names[partner_id] = name
    return names


async def usage_up_to(
    session: AsyncSession, loaded: LoadedAccount, report_id: uuid.UUID
) -> dict[str, UsageFacts]:
    """The latest usage among the reports received up to `report_id` (the report a
    `usage.reported` event is about; ids are time-ordered), so a worker catching up
    judges each report as it would have when it arrived. When no contract
    has a report received after it (a worker keeping up), that is the latest usage
    already known: the latest of all reports is also the latest of any subset holding
    it. Otherwise the reports are read again."""
    if all(latest_id <= report_id for latest_id in loaded.latest_usage_ids.values()):
        return loaded.latest_usage
    latest = await latest_reports(session, [c.id for c in loaded.contracts], report_id)
    return {contract_id: usage for contract_id, (_, usage) in latest.items()}


async def load_accounts(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LoadedAccount]:
    """The rows of several accounts in a fixed number of queries per chunk of ids (the
    accounts that do not exist are left out)."""
    loaded: dict[uuid.UUID, LoadedAccount] = {}
    for chunk in in_chunks(account_ids):
        for account in await session.scalars(select(Account).where(Account.id.in_(chunk))):
            loaded[account.id] = LoadedAccount(account)
    owner: dict[uuid.UUID, LoadedAccount] = {}
    for chunk in in_chunks(list(loaded)):
        for contract in await session.scalars(
            select(Contract)
            .where(Contract.account_id.in_(chunk))
            .options(selectinload(Contract.terms))
            .order_by(Contract.id)
        ):
            owner[contract.id] = loaded[contract.account_id]
            owner[contract.id].contracts.append(contract)
        for task in await session.scalars(select(Task).where(Task.account_id.in_(chunk))):
            loaded[task.account_id].tasks.append(task)
        for person in await session.scalars(
            select(Stakeholder).where(Stakeholder.account_id.in_(chunk)).order_by(Stakeholder.id)
        ):
            loaded[person.account_id].stakeholders.append(person)
    contract_ids = list(owner)
    for chunk in in_chunks(contract_ids):
        for cp in await session.scalars(
            select(Checkpoint).where(Checkpoint.contract_id.in_(chunk))
        ):
            owner[cp.contract_id].checkpoints[checkpoint_identity(cp)] = cp
        for goal in await session.scalars(
            select(Goal).where(Goal.contract_id.in_(chunk)).order_by(Goal.id)
        ):
            owner[goal.contract_id].goals.append(goal)
        for trial in await session.scalars(
            select(ContractTrial)
            .where(ContractTrial.contract_id.in_(chunk))
            .order_by(ContractTrial.id)
        ):
            owner[trial.contract_id].trials.append(trial)
    partners = await partner_names(
        session,
        {c.partner_id for rows in loaded.values() for c in rows.contracts if c.partner_id},
    )
    for rows in loaded.values():
        for contract in rows.contracts:
            if contract.partner_id in partners:
                rows.partner_names[contract.partner_id] = partners[contract.partner_id]
    latest = await latest_reports(session, contract_ids, None)
    for contract_id, (report_id, usage) in latest.items():
        rows = owner[uuid.UUID(contract_id)]
        rows.latest_usage[contract_id] = usage
        rows.latest_usage_ids[contract_id] = report_id
    return loaded


_LOADED = "renewals.loaded_accounts"


async def preload_accounts(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> None:
    """Loads these accounts at once and keeps them in the session for the batch's events
    (see `handle.preload`)."""
    session.info[_LOADED] = await load_accounts(session, account_ids)


async def take_account(session: AsyncSession, account_id: uuid.UUID) -> LoadedAccount | None:
    """The account's rows, kept from the batch's earlier events or loaded now; taken out
    of the batch's keeping until the event succeeded (see `keep_account`)."""
    kept: dict[uuid.UUID, LoadedAccount] | None = session.info.get(_LOADED)
    loaded = kept.pop(account_id, None) if kept is not None else None
    if loaded is not None:
        return loaded
    return (await load_accounts(session, [account_id])).get(account_id)


def keep_account(session: AsyncSession, loaded: LoadedAccount) -> None:
    """Gives the rows of an event that succeeded back to the batch's keeping."""
    kept: dict[uuid.UUID, LoadedAccount] | None = session.info.get(_LOADED)
    if kept is not None:
        kept[loaded.account.id] = loaded
