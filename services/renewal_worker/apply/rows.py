"""Rows → `AccountState`: the accounts of a set-wise batch, read with plain Core queries.

The same rows `load.load_accounts` reads (an account, its contracts with their terms,
checkpoints, tasks, stakeholders, goals, trials, partners and latest usage), in a fixed
number of queries per chunk of accounts, in the same orders, but as tuples: building an
ORM object per row cost more than the engine's whole decision.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply.load import among, in_chunks, latest_reports, partner_names
from services.renewal_worker.apply.state import AccountState, TaskRow
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    ContractFacts,
    GoalFacts,
    StakeholderFacts,
    Term,
    TrialFacts,
    UsageFacts,
)
from shared.models import (
    Account,
    Checkpoint,
    Contract,
    ContractTerm,
    ContractTrial,
    Goal,
    Stakeholder,
    Task,
    UsageReport,
)
from shared.money import from_minor


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


ACCOUNTS = _table(Account)
CONTRACTS = _table(Contract)
TERMS = _table(ContractTerm)
CHECKPOINTS = _table(Checkpoint)
TASKS = _table(Task)
STAKEHOLDERS = _table(Stakeholder)
GOALS = _table(Goal)
TRIALS = _table(ContractTrial)
USAGE = _table(UsageReport)

TASK_COLUMNS = (
    "id",
    "contract_id",
    "account_id",
    "partner_id",
    "checkpoint_id",
    "term",
    "kind",
    "title",
    "description",
    "due_date",
    "priority",
    "owner",
    "status",
    "status_reason",
    "outcome",
    "dedupe_key",
    "source_event_id",
    "closed_at",
    "overdue_noted_on",
    "created_at",
    "updated_at",
)
"""What the batch keeps of a task: what its notification shows and the engine reads."""

# What the engine reads of the other tables: the columns it does not read (timestamps,
# e-mail addresses, former identifiers) cost more to decode than the rows it needs.
_CONTRACT = (
    "id",
    "account_id",
    "partner_id",
    "start_date",
    "pilot_start",
    "pilot_end",
    "trial_end",
    "auto_renew",
    "notice_period_days",
    "status",
    "churned_on",
    "churn_reason",
    "cancellation_notice_on",
    "cancellation_notice_late",
    "health_score",
    "health_band",
    "health_signals",
    "external_ids",
)
_TERM = ("contract_id", "number", "start_date", "end_date", "arr_minor")
_TRIAL = ("id", "contract_id", "name", "started_on", "ends_on")
_STAKEHOLDER = ("id", "account_id", "name", "role", "status")
_GOAL = ("id", "contract_id", "name", "status", "target")
_CHECKPOINT = ("id", "contract_id", "term", "kind", "ordinal", "due_date", "opens_on", "status")


async def load_states(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], currency: str
) -> dict[uuid.UUID, AccountState]:
    """The accounts that exist among `account_ids`, with everything the engine reads."""
    states: dict[uuid.UUID, AccountState] = {}
    for chunk in in_chunks(account_ids):
        states.update(await _load_chunk(session, chunk, currency))
    return states


async def _load_chunk(
    session: AsyncSession, account_ids: list[uuid.UUID], currency: str
) -> dict[uuid.UUID, AccountState]:
    accounts = (
        await session.execute(
            select(
                ACCOUNTS.c.id,
                ACCOUNTS.c.name,
                ACCOUNTS.c.owner,
                ACCOUNTS.c.fiscal_year_start_month,
                ACCOUNTS.c.budget_lead_days,
            ).where(among(session, ACCOUNTS.c.id, account_ids))
        )
    ).all()
    found = [row.id for row in accounts]
    if not found:
        return {}
    contracts = (
        await session.execute(
            select(*_columns(CONTRACTS, _CONTRACT))
            .where(among(session, CONTRACTS.c.account_id, found))
            .order_by(CONTRACTS.c.id)
        )
    ).all()
    contract_ids = [row.id for row in contracts]
    by_contract = _group(await _rows(session, TERMS, _TERM, "contract_id", contract_ids, "number"))
    trials = _group(await _rows(session, TRIALS, _TRIAL, "contract_id", contract_ids, "id"))
    names_of_partners = await partner_names(
        session, {row.partner_id for row in contracts if row.partner_id is not None}
    )
    people = _group(
        await _rows(session, STAKEHOLDERS, _STAKEHOLDER, "account_id", found, "id"),
        key="account_id",
    )
    owner_of = {row.id: row.account_id for row in contracts}
    goals: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for goal in await _rows(session, GOALS, _GOAL, "contract_id", contract_ids, "id"):
        goals[owner_of[goal.contract_id]].append(goal)
    states: dict[uuid.UUID, AccountState] = {}
    for row in accounts:
        states[row.id] = AccountState(
            id=row.id,
            base=AccountFacts(
                id=str(row.id),
                name=row.name,
                owner=row.owner,
                fiscal_year_start_month=row.fiscal_year_start_month,
                budget_lead_days=row.budget_lead_days,
                stakeholders=tuple(
                    StakeholderFacts(str(s.id), s.name, s.role, s.status)
                    for s in people.get(row.id, ())
                ),
                goals=tuple(
                    GoalFacts(str(g.id), str(g.contract_id), g.name, g.status, g.target)
                    for g in goals.get(row.id, ())
                ),
            ),
        )
    for contract in contracts:
        states[contract.account_id].contracts.append(
            _contract_facts(
                contract,
                by_contract.get(contract.id, ()),
                trials.get(contract.id, ()),
                names_of_partners,
                currency,
            )
        )
    for cp in await _rows(session, CHECKPOINTS, _CHECKPOINT, "contract_id", contract_ids):
        state = states[owner_of[cp.contract_id]]
        identity = (str(cp.contract_id), cp.term, cp.kind, cp.ordinal)
        state.checkpoints[identity] = CheckpointFacts(
            *identity, cp.due_date, cp.opens_on, cp.status
        )
        state.checkpoint_ids[identity] = cp.id
    task_columns = [TASKS.c[name] for name in TASK_COLUMNS]
    for chunk in in_chunks(found):
        for task in await session.execute(
            select(*task_columns, TASKS.c.version).where(among(session, TASKS.c.account_id, chunk))
        ):
            values = dict(zip(TASK_COLUMNS, task, strict=False))
            kept = TaskRow(values, task.version)
            kept.flushed = kept.changeable()
            states[task.account_id].tasks[values["dedupe_key"]] = kept
    for contract_id, (report_id, usage) in (await latest_reports(session, contract_ids)).items():
        state = states[owner_of[uuid.UUID(contract_id)]]
        state.latest_usage[contract_id] = usage
        state.latest_usage_ids[contract_id] = report_id
    return states


async def _rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    key: str,
    ids: Sequence[uuid.UUID],
    order_by: str | None = None,
) -> list[Any]:
    """These columns of the rows of `table` whose column `key` is among `ids`, one query
    per chunk."""
    rows: list[Any] = []
    for chunk in in_chunks(ids):
        query = select(*_columns(table, columns)).where(among(session, table.c[key], chunk))
        if order_by is not None:
            query = query.order_by(table.c[order_by])
        rows.extend(await session.execute(query))
    return rows


def _columns(table: Table, names: Sequence[str]) -> list[Any]:
    return [table.c[name] for name in names]


def _group(rows: Iterable[Any], key: str = "contract_id") -> dict[uuid.UUID, list[Any]]:
    """Rows of one table by the value of their column `key` (read by position: a row's
    attribute access by name cost more than the grouping)."""
    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
    position: int | None = None
    for row in rows:
        if position is None:
            position = list(row._fields).index(key)
        grouped[row[position]].append(row)
    return grouped


def _contract_facts(
    contract: Any,
    terms: Iterable[Any],
    trials: Iterable[Any],
    partner_names: dict[uuid.UUID, str],
    currency: str,
) -> ContractFacts:
    """As `load._contract_facts` builds them from the ORM row."""
    partner_id = contract.partner_id
    return ContractFacts(
        id=str(contract.id),
        account_id=str(contract.account_id),
        partner_id=str(partner_id) if partner_id else None,
        start_date=contract.start_date,
        pilot_start=contract.pilot_start,
        pilot_end=contract.pilot_end,
        trial_end=contract.trial_end,
        auto_renew=contract.auto_renew,
        notice_period_days=contract.notice_period_days,
        terms=tuple(
            Term(t.number, t.start_date, t.end_date, from_minor(t.arr_minor, currency))
            for t in terms
        ),
        churned_on=contract.churned_on if contract.status == "churned" else None,
        churn_reason=contract.churn_reason,
        cancellation_notice_on=contract.cancellation_notice_on,
        health_band=contract.health_band,
        health_score=contract.health_score,
        health_signals=tuple((s["signal"], int(s["points"])) for s in contract.health_signals),
        partner_name=partner_names.get(partner_id) if partner_id else None,
        trials=tuple(TrialFacts(str(t.id), t.name, t.started_on, t.ends_on) for t in trials),
        external_ids=tuple(sorted((str(k), str(v)) for k, v in contract.external_ids.items())),
        cancellation_notice_late=contract.cancellation_notice_late,
    )


async def usage_history(
    session: AsyncSession, wanted: dict[uuid.UUID, uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, UsageFacts]]]:
    """Each contract's reports received up to the given report (ids are time-ordered),
    in one query per chunk: what a `usage.reported` of a worker catching up is judged
    on (see `load.usage_up_to`)."""
    history: dict[uuid.UUID, list[tuple[uuid.UUID, UsageFacts]]] = defaultdict(list)
    if not wanted:
        return history
    newest = max(wanted.values())
    for chunk in in_chunks(sorted(wanted)):
        for report in await session.execute(
            select(
                USAGE.c.id, USAGE.c.contract_id, USAGE.c.active_users, USAGE.c.seats, USAGE.c.as_of
            ).where(among(session, USAGE.c.contract_id, chunk), USAGE.c.id <= newest)
        ):
            if report.id <= wanted[report.contract_id]:
                usage = UsageFacts(
                    str(report.contract_id), report.active_users, report.seats, report.as_of
                )
                history[report.contract_id].append((report.id, usage))
    return history


def latest_up_to(
    history: dict[uuid.UUID, list[tuple[uuid.UUID, UsageFacts]]],
    contract_ids: Iterable[str],
    report_id: uuid.UUID,
) -> dict[str, UsageFacts]:
    """Each contract's latest report (by `as_of`, then id) among those up to
    `report_id`, as `load.latest_reports` ranks them."""
    latest: dict[str, UsageFacts] = {}
    for contract_id in contract_ids:
        best: tuple[date, uuid.UUID] | None = None
        for id_, usage in history.get(uuid.UUID(contract_id), ()):
            if id_ <= report_id and (best is None or (usage.as_of, id_) > best):
                best = (usage.as_of, id_)
                latest[contract_id] = usage
    return latest
