"""Applies one lifecycle event: load the account's facts, ask the pure engine, write.

Everything happens in the caller's transaction, together with the event's inbox key,
so an event's effects and its "processed" mark commit or roll back as one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, selectinload

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
from shared.domain.tasks.notifications import emit_task_event
from shared.events.outbox import emit
from shared.events.types import SOURCE_WORKER, EventType, Stream, dataschema
from shared.ids import new_id
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
_V = TypeVar("_V")
IN_CHUNK = 500
"""Ids per `IN` list: bounded so a big batch stays within every driver's parameter limit."""


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


@dataclass(slots=True)
class LoadedAccount:
    """An account's rows, from which its facts for the engine are built. The handler's
    writes go to these same rows (and add the ones it creates), so after an event they
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
            contracts=tuple(_contract_facts(c, currency) for c in self.contracts),
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
                )
                for t in self.tasks
            ),
            stakeholders=tuple(
                StakeholderFacts(str(s.id), s.name, s.role, s.status) for s in self.stakeholders
            ),
            goals=tuple(
                GoalFacts(str(g.id), str(g.contract_id), g.name, g.status) for g in self.goals
            ),
            latest_usage=self.latest_usage if latest_usage is None else latest_usage,
        )


def in_chunks(values: Sequence[_V]) -> Iterator[list[_V]]:
    """`values` in slices of at most `IN_CHUNK`, one per `IN` list."""
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start : start + IN_CHUNK])


async def _latest_usage(
    session: AsyncSession, contract_ids: Sequence[uuid.UUID], usage_up_to: uuid.UUID | None
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
        ).where(UsageReport.contract_id.in_(chunk))
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


async def _usage_up_to(
    session: AsyncSession, loaded: LoadedAccount, usage_up_to: uuid.UUID
) -> dict[str, UsageFacts]:
    """The latest usage among the reports received up to `usage_up_to` (the report a
    `usage.reported` event is about; ids are time-ordered), so a worker catching up
    judges each report as it would have when it arrived. When no contract
    has a report received after it (a worker keeping up), that is the latest usage
    already known: the latest of all reports is also the latest of any subset holding
    it. Otherwise the reports are read again."""
    if all(report_id <= usage_up_to for report_id in loaded.latest_usage_ids.values()):
        return loaded.latest_usage
    latest = await _latest_usage(session, [c.id for c in loaded.contracts], usage_up_to)
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
            owner[cp.contract_id].checkpoints[_checkpoint_identity(cp)] = cp
        for goal in await session.scalars(select(Goal).where(Goal.contract_id.in_(chunk))):
            owner[goal.contract_id].goals.append(goal)
    latest = await _latest_usage(session, contract_ids, None)
    for contract_id, (report_id, usage) in latest.items():
        rows = owner[uuid.UUID(contract_id)]
        rows.latest_usage[contract_id] = usage
        rows.latest_usage_ids[contract_id] = report_id
    return loaded


_LOADED = "renewals.loaded_accounts"


async def preload(session: AsyncSession, events: Iterable[dict[str, Any]]) -> None:
    """Loads the accounts a batch's events are about in a few queries for the whole
    batch, instead of several per event, and keeps them in the session for its events.

    Events only change their own account, and the API committed the state behind every
    event of the batch before the batch was read, so what is loaded here, plus what the
    handler writes as it applies the batch, is what a fresh load before each event would
    read (changes committed after this load but before an event's turn, which a fresh
    load could also have missed by a few milliseconds, are read by the next batch). An
    event that fails drops its account, which its next event then loads again: its
    savepoint's rollback expired the rows it had changed. Events that cannot be read are
    left for `apply_event` to reject."""
    wanted: set[uuid.UUID] = set()
    for cloud_event in events:
        try:
            account_id = account_id_of(cloud_event)
        except InvalidEvent:
            continue
        if account_id is not None:
            wanted.add(account_id)
    session.info[_LOADED] = await load_accounts(session, sorted(wanted))


async def _take_account(session: AsyncSession, account_id: uuid.UUID) -> LoadedAccount | None:
    """The account's rows, kept from the batch's earlier events or loaded now; taken out
    of the batch's keeping until the event succeeded (see `_keep_account`)."""
    kept: dict[uuid.UUID, LoadedAccount] | None = session.info.get(_LOADED)
    loaded = kept.pop(account_id, None) if kept is not None else None
    if loaded is not None:
        return loaded
    return (await load_accounts(session, [account_id])).get(account_id)


def _keep_account(session: AsyncSession, loaded: LoadedAccount) -> None:
    kept: dict[uuid.UUID, LoadedAccount] | None = session.info.get(_LOADED)
    if kept is not None:
        kept[loaded.account.id] = loaded


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
    session: AsyncSession, rows: Sequence[CheckpointFacts], stored: dict[CheckpointId, Checkpoint]
) -> None:
    """Updates the account's checkpoint rows in `stored` and adds the new ones (to
    `stored` too), in one flush."""
    if not rows:
        return
    for row in rows:
        checkpoint = stored.get(row.identity)
        if checkpoint is None:
            checkpoint = Checkpoint(
                id=new_id(),
                contract_id=uuid.UUID(row.contract_id),
                term=row.term,
                kind=row.kind,
                ordinal=row.ordinal,
            )
            session.add(checkpoint)
            stored[row.identity] = checkpoint
        checkpoint.due_date = row.due_date
        checkpoint.opens_on = row.opens_on
        checkpoint.status = row.status
    await session.flush()


async def _checkpoint_id(
    session: AsyncSession, identity: CheckpointId, stored: dict[CheckpointId, Checkpoint]
) -> uuid.UUID | None:
    if identity in stored:
        return stored[identity].id
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


async def _tasks_by_key(session: AsyncSession, decision: Decision) -> dict[str, Task]:
    """The stored tasks with the dedupe keys the decision creates or changes, in one query."""
    keys = sorted(
        {new.dedupe_key for new in decision.new_tasks}
        | {change.dedupe_key for change in decision.task_changes}
    )
    if not keys:
        return {}
    return {
        task.dedupe_key: task
        for task in await session.scalars(select(Task).where(Task.dedupe_key.in_(keys)))
    }


async def _write_tasks(
    session: AsyncSession, event: EngineEvent, decision: Decision, loaded: LoadedAccount
) -> None:
    """New tasks are inserted in one flush, then changes in one flush per round (a task
    changed twice is notified after each change); each notification carries the task as
    stored after its flush, like a REST read would show it."""
    stored = await _tasks_by_key(session, decision)
    created: list[Task] = []
    for new in decision.new_tasks:
        if new.dedupe_key in stored:
            continue
        task = Task(
            contract_id=uuid.UUID(new.contract_id),
            account_id=uuid.UUID(new.account_id),
            partner_id=uuid.UUID(new.partner_id) if new.partner_id else None,
            checkpoint_id=(
                await _checkpoint_id(session, new.checkpoint, loaded.checkpoints)
                if new.checkpoint
                else None
            ),
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
        stored[new.dedupe_key] = task
        created.append(task)
    if created:
        await session.flush()
    for task in created:
        if task.account_id == loaded.account.id:
            loaded.tasks.append(task)
        _count_once_committed(session, task.kind)
        _notify_task(session, event, EventType.TASK_CREATED, task)
    changed: list[Task] = []
    for change in decision.task_changes:
        target = stored.get(change.dedupe_key)
        if target is None:
            continue
        if target in changed:
            await _flush_changed(session, event, changed)
        if change.due_date is not None:
            target.due_date = change.due_date
        if change.description is not None:
            target.description = change.description
        if change.owner_changed:
            target.owner = change.owner
        if change.status is not None and change.status != target.status:
            target.status = change.status
            target.status_reason = change.status_reason
            target.closed_at = utcnow()
        changed.append(target)
    await _flush_changed(session, event, changed)


async def _flush_changed(session: AsyncSession, event: EngineEvent, changed: list[Task]) -> None:
    if not changed:
        return
    await session.flush()
    for task in changed:
        _notify_task(session, event, EventType.TASK_UPDATED, task)
    changed.clear()


def _notify_task(session: AsyncSession, event: EngineEvent, type: EventType, task: Task) -> None:
    emit_task_event(session, type, task, source=SOURCE_WORKER, actor=WORKER_ACTOR, time=event.time)


async def _write_health(
    session: AsyncSession,
    event: EngineEvent,
    changes: Sequence[HealthChange],
    loaded: LoadedAccount,
) -> None:
    for change in changes:
        contract = loaded.contract(change.contract_id) or await session.get(
            Contract, uuid.UUID(change.contract_id)
        )
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
    """Applies a lifecycle CloudEvent (structured-mode dict) inside the caller's transaction,
    from the account's rows kept for the batch when `preload` read them."""
    facts_event = engine_event(event)
    account_id = account_id_of(event)
    if account_id is None:
        return
    usage_up_to = reported_usage_id(event)
    loaded = await _take_account(session, account_id)
    if loaded is None:
        raise InvalidEvent(f"account {account_id} does not exist")
    latest = None if usage_up_to is None else await _usage_up_to(session, loaded, usage_up_to)
    decision = decide(
        loaded.facts(currency, latest), facts_event, EngineSettings(currency=currency)
    )
    await _write_checkpoints(session, decision.checkpoints, loaded.checkpoints)
    await _write_tasks(session, facts_event, decision, loaded)
    await _write_health(session, facts_event, decision.health, loaded)
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
    _keep_account(session, loaded)
