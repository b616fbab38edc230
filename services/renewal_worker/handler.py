"""Applies one lifecycle event: load the account's facts, ask the pure engine, write.

Everything happens in the caller's transaction, together with the event's inbox key,
so an event's effects and its "processed" mark commit or roll back as one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, selectinload

from services.api.tasks.schemas import TaskRead
from services.renewal_worker.engine.rules import Decision, EngineSettings, HealthChange, decide
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    EngineEvent,
    GoalFacts,
    StakeholderFacts,
    TaskFacts,
    Term,
    UsageFacts,
)
from shared.clock import utcnow
from shared.events.outbox import emit
from shared.events.types import SOURCE_WORKER, EventType, Stream, dataschema
from shared.metrics import TASKS_CREATED
from shared.models import (
    Account,
    Checkpoint,
    Contract,
    Goal,
    Stakeholder,
    Task,
    UsageReport,
)
from shared.money import from_minor

WORKER_ACTOR = "worker"
REEMITTED = frozenset({EventType.CONTRACT_RENEWED, EventType.CONTRACT_CHURNED})


class InvalidEvent(ValueError):
    """The event cannot be applied whatever the retries: it goes to dead letters."""


def account_id_of(event: dict[str, Any]) -> uuid.UUID | None:
    """The account an event is about; None for events the engine ignores (partners)."""
    kind = str(event.get("type", ""))
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("the event has no data object")
    if kind.startswith("partner."):
        return None
    raw = data.get("id") if kind.startswith("account.") else data.get("account_id")
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise InvalidEvent(f"{kind} names no valid account id") from exc


def contract_log_ids(event: dict[str, Any]) -> dict[str, str]:
    """`{"contract_id": ...}` for the log lines of an event about one contract (contract
    events name it `id`; usage, goal and checkpoint events `contract_id`), else `{}`.
    Never raises: it runs before the event is known to be valid."""
    data = event.get("data")
    if not isinstance(data, dict):
        return {}
    kind = str(event.get("type", ""))
    value = data.get("id") if kind.startswith("contract.") else data.get("contract_id")
    return {"contract_id": value} if isinstance(value, str) and value else {}


def reported_usage_id(event: dict[str, Any]) -> uuid.UUID | None:
    """The report a `usage.reported` event is about; None for other events."""
    if event.get("type") != EventType.USAGE_REPORTED:
        return None
    try:
        return uuid.UUID(str(event["data"].get("id")))
    except ValueError as exc:
        raise InvalidEvent("usage.reported names no valid report id") from exc


def engine_event(event: dict[str, Any]) -> EngineEvent:
    try:
        return EngineEvent(
            id=str(event["id"]),
            source=str(event["source"]),
            type=str(event["type"]),
            time=datetime.fromisoformat(str(event["time"])),
            data=event["data"],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidEvent(f"not a valid CloudEvent: {exc}") from exc


def _contract_facts(contract: Contract, currency: str) -> ContractFacts:
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
    )


def _checkpoint_identity(cp: Checkpoint) -> CheckpointId:
    return (str(cp.contract_id), cp.term, cp.kind, cp.ordinal)


async def load_account(
    session: AsyncSession,
    account_id: uuid.UUID,
    currency: str,
    *,
    usage_up_to: uuid.UUID | None = None,
) -> AccountFacts | None:
    """The account's facts; with `usage_up_to` (a usage report's id), the latest usage
    is taken among the reports received up to that one (ids are time-ordered), so a
    worker catching up judges each report as it would have when it arrived."""
    account = await session.get(Account, account_id)
    if account is None:
        return None
    contracts = (
        await session.scalars(
            select(Contract)
            .where(Contract.account_id == account_id)
            .options(selectinload(Contract.terms))
            .order_by(Contract.id)
        )
    ).all()
    ids = [c.id for c in contracts]
    checkpoints = (
        await session.scalars(select(Checkpoint).where(Checkpoint.contract_id.in_(ids)))
    ).all()
    identities = {cp.id: _checkpoint_identity(cp) for cp in checkpoints}
    tasks = (await session.scalars(select(Task).where(Task.account_id == account_id))).all()
    stakeholders = (
        await session.scalars(
            select(Stakeholder).where(Stakeholder.account_id == account_id).order_by(Stakeholder.id)
        )
    ).all()
    goals = (await session.scalars(select(Goal).where(Goal.contract_id.in_(ids)))).all()
    latest: dict[str, UsageFacts] = {}
    for contract_id in ids:
        query = select(UsageReport).where(UsageReport.contract_id == contract_id)
        if usage_up_to is not None:
            query = query.where(UsageReport.id <= usage_up_to)
        report = await session.scalar(
            query.order_by(UsageReport.as_of.desc(), UsageReport.id.desc()).limit(1)
        )
        if report is not None:
            latest[str(contract_id)] = UsageFacts(
                str(contract_id), report.active_users, report.seats, report.as_of
            )
    return AccountFacts(
        id=str(account.id),
        name=account.name,
        owner=account.owner,
        fiscal_year_start_month=account.fiscal_year_start_month,
        budget_lead_days=account.budget_lead_days,
        contracts=tuple(_contract_facts(c, currency) for c in contracts),
        checkpoints=tuple(
            CheckpointFacts(
                str(cp.contract_id),
                cp.term,
                cp.kind,
                cp.ordinal,
                cp.due_date,
                cp.opens_on,
                cp.status,
            )
            for cp in checkpoints
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
            )
            for t in tasks
        ),
        stakeholders=tuple(
            StakeholderFacts(str(s.id), s.name, s.role, s.status) for s in stakeholders
        ),
        goals=tuple(GoalFacts(str(g.id), str(g.contract_id), g.name, g.status) for g in goals),
        latest_usage=latest,
    )


def _notify(
    session: AsyncSession,
    event: EngineEvent,
    type: EventType,
    *,
    subject: str,
    account_id: str,
    data: dict[str, Any],
    entity: str,
) -> None:
    emit(
        session,
        type=type,
        source=SOURCE_WORKER,
        subject=subject,
        partition_key=account_id,
        data=data,
        dataschema=dataschema(entity),
        actor=WORKER_ACTOR,
        time=event.time,
        stream=Stream.NOTIFICATIONS,
    )


async def _write_checkpoints(
    session: AsyncSession, rows: Sequence[CheckpointFacts]
) -> dict[CheckpointId, uuid.UUID]:
    ids: dict[CheckpointId, uuid.UUID] = {}
    for row in rows:
        stored = await session.scalar(
            select(Checkpoint).where(
                Checkpoint.contract_id == uuid.UUID(row.contract_id),
                Checkpoint.term == row.term,
                Checkpoint.kind == row.kind,
                Checkpoint.ordinal == row.ordinal,
            )
        )
        if stored is None:
            stored = Checkpoint(
                contract_id=uuid.UUID(row.contract_id),
                term=row.term,
                kind=row.kind,
                ordinal=row.ordinal,
            )
            session.add(stored)
        stored.due_date = row.due_date
        stored.opens_on = row.opens_on
        stored.status = row.status
        await session.flush()
        ids[row.identity] = stored.id
    return ids


async def _checkpoint_id(session: AsyncSession, identity: CheckpointId) -> uuid.UUID | None:
    contract_id, term, kind, ordinal = identity
    return await session.scalar(
        select(Checkpoint.id).where(
            Checkpoint.contract_id == uuid.UUID(contract_id),
            Checkpoint.term == term,
            Checkpoint.kind == kind,
            Checkpoint.ordinal == ordinal,
        )
    )


_CREATED_KINDS = "renewals.created_task_kinds"


def _count_once_committed(session: AsyncSession, kind: str) -> None:
    """Counts a created task in `renewals_tasks_created_total` when the outermost
    transaction commits: a savepoint rolled back (a poison event) or a batch aborted by a
    transient error (it is retried) must not count tasks that were never written."""
    sync = session.sync_session
    pending: list[tuple[SessionTransaction, str]] | None = sync.info.get(_CREATED_KINDS)
    if pending is None:
        pending = sync.info[_CREATED_KINDS] = []
        event.listen(sync, "after_soft_rollback", _forget_rolled_back)
        event.listen(sync, "after_commit", _count_committed)
    current = sync.get_nested_transaction() or sync.get_transaction()
    assert current is not None, "tasks are only written inside a transaction"
    pending.append((current, kind))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info[_CREATED_KINDS]
    pending[:] = [(t, kind) for t, kind in pending if not _within(t, previous_transaction)]


def _count_committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its tasks are not durable yet
        return
    pending = session.info[_CREATED_KINDS]
    for _, kind in pending:
        TASKS_CREATED.labels(kind=kind).inc()
    pending.clear()


def _task_data(task: Task) -> dict[str, Any]:
    return TaskRead.model_validate(task).model_dump(mode="json")


async def _write_tasks(session: AsyncSession, event: EngineEvent, decision: Decision) -> None:
    for new in decision.new_tasks:
        if (
            await session.scalar(select(Task.id).where(Task.dedupe_key == new.dedupe_key))
            is not None
        ):
            continue
        task = Task(
            contract_id=uuid.UUID(new.contract_id),
            account_id=uuid.UUID(new.account_id),
            partner_id=uuid.UUID(new.partner_id) if new.partner_id else None,
            checkpoint_id=await _checkpoint_id(session, new.checkpoint) if new.checkpoint else None,
            term=new.term,
            kind=new.kind,
            title=new.title,
            description=new.description,
            due_date=new.due_date,
            priority=str(new.priority),
            owner=new.owner,
            dedupe_key=new.dedupe_key,
            source_event_id=event.id,
        )
        session.add(task)
        await session.flush()
        _count_once_committed(session, new.kind)
        _notify(
            session,
            event,
            EventType.TASK_CREATED,
            subject=str(task.id),
            account_id=new.account_id,
            data=_task_data(task),
            entity="task",
        )
    for change in decision.task_changes:
        stored = await session.scalar(select(Task).where(Task.dedupe_key == change.dedupe_key))
        if stored is None:
            continue
        if change.due_date is not None:
            stored.due_date = change.due_date
        if change.description is not None:
            stored.description = change.description
        if change.owner_changed:
            stored.owner = change.owner
        if change.status is not None and change.status != stored.status:
            stored.status = change.status
            stored.status_reason = change.status_reason
            stored.closed_at = utcnow()
        await session.flush()
        _notify(
            session,
            event,
            EventType.TASK_UPDATED,
            subject=str(stored.id),
            account_id=str(stored.account_id),
            data=_task_data(stored),
            entity="task",
        )


async def _write_health(
    session: AsyncSession, event: EngineEvent, changes: Sequence[HealthChange]
) -> None:
    for change in changes:
        contract = await session.get(Contract, uuid.UUID(change.contract_id))
        if contract is None:
            continue
        old = {"score": contract.health_score, "band": contract.health_band}
        contract.health_score = change.health.score
        contract.health_band = change.health.band
        contract.health_signals = [
            {"signal": s.signal, "points": s.points} for s in change.health.signals
        ]
        if change.previous_band != change.health.band:
            _notify(
                session,
                event,
                EventType.CONTRACT_HEALTH_CHANGED,
                subject=change.contract_id,
                account_id=str(contract.account_id),
                data={
                    "contract_id": change.contract_id,
                    "account_id": str(contract.account_id),
                    "old": old,
                    "new": {
                        "score": change.health.score,
                        "band": change.health.band,
                        "signals": contract.health_signals,
                    },
                },
                entity="health",
            )
    await session.flush()


async def apply_event(
    session: AsyncSession, event: dict[str, Any], *, currency: str = "USD"
) -> None:
    """Applies a lifecycle CloudEvent (structured-mode dict) inside the caller's transaction."""
    facts_event = engine_event(event)
    account_id = account_id_of(event)
    if account_id is None:
        return
    account = await load_account(
        session, account_id, currency, usage_up_to=reported_usage_id(event)
    )
    if account is None:
        raise InvalidEvent(f"account {account_id} does not exist")
    decision = decide(account, facts_event, EngineSettings(currency=currency))
    await _write_checkpoints(session, decision.checkpoints)
    await _write_tasks(session, facts_event, decision)
    await _write_health(session, facts_event, decision.health)
    if facts_event.type in REEMITTED:
        _notify(
            session,
            facts_event,
            EventType(facts_event.type),
            subject=str(event.get("subject")),
            account_id=str(account_id),
            data=dict(facts_event.data),
            entity="contract",
        )
