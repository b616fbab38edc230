"""The syncer: claims due task syncs, pushes each task as it is now, records the result.

**Claims** work like the webhook sender's: one short transaction picks pending
`crm_task_syncs` rows of the enabled CRMs whose `next_attempt_at` has come, counts the
attempt, writes `claimed_by` and pushes `next_attempt_at` to now + twice the request
timeout. On Postgres the pick is `FOR UPDATE SKIP LOCKED`, so any number of syncers
claim disjoint rows; on SQLite the writer's transaction serialises claims. The CRM calls
run outside any transaction, and the result is written only where `claimed_by` still
names this syncer. A syncer that dies mid-push writes nothing: the row is due again once
the pushed `next_attempt_at` passes.

**Pushes.** The task is read when it is pushed, never from a notification, so the CRM
ends at the latest state whatever order changes came in. Without a CRM id the task is
created — but first, when an earlier attempt was made (`last_attempt_at` is set), the CRM
is searched for a task carrying the engine's task id: that attempt may have created it
and died before our commit. The search is not made before every create because CRMs
limit searches far more tightly than writes (HubSpot: a few a second per portal), and a
first attempt cannot have left anything behind. With a CRM id (known, or found) the CRM's
task is updated.

**Outcome.** Success records `synced_version`; the row is `synced`, or stays due when
`wanted_version` moved on during the push. A failure is retried with the webhooks'
backoff and jitter (the CRM's requested pause wins), within the row's retry window —
but while the task has no CRM id, not before the claim hold has passed: a create whose
answer was lost (a timeout) may still have gone through, and CRM searches see new
records only after a few seconds (HubSpot's index lags), as after a crash;
a permanent failure, or the window closing, makes the row `failed`. Each row is pushed
on its own, so one task's failure never holds up another's.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.crm_sync.connector import Connector, CrmCallFailed, TaskForCrm
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.metrics import CRM_SYNCS
from shared.models import Account, Contract, CrmTaskSync, Task
from shared.runtime import lease
from shared.runtime.backoff import retry_at
from shared.runtime.claim_loop import ClaimLoop
from shared.runtime.steps import describe

_ERROR_CHARS = 1000
_log = structlog.get_logger("renewals.crm_sync")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A sync row this syncer holds for one push."""

    id: uuid.UUID
    task_id: uuid.UUID
    crm: str
    crm_object_id: str | None
    attempt: int
    retry_until: datetime | None
    tried_before: bool
    """An earlier attempt was made, so the CRM may hold the task though we have no id."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """What one push achieved: the CRM id when known, the version pushed, or the error."""

    crm_object_id: str | None
    version: int | None = None
    error: CrmCallFailed | None = None


def _due(now: datetime, crms: list[str]) -> Select[uuid.UUID]:
    return select(CrmTaskSync.id).where(
        CrmTaskSync.status == "pending",
        CrmTaskSync.next_attempt_at <= now,
        CrmTaskSync.crm.in_(crms),
    )


async def claim(
    session: AsyncSession,
    holder: str,
    *,
    crms: list[str],
    limit: int,
    now: datetime,
    hold: timedelta,
) -> list[Claimed]:
    """Claims up to `limit` due rows in the caller's transaction, oldest due first."""
    pick = _due(now, crms).order_by(CrmTaskSync.next_attempt_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list((await session.scalars(pick)).all())
    if not ids:
        return []
    before = (
        await session.execute(
            select(
                CrmTaskSync.id,
                CrmTaskSync.task_id,
                CrmTaskSync.crm,
                CrmTaskSync.crm_object_id,
                CrmTaskSync.attempts,
                CrmTaskSync.retry_until,
                CrmTaskSync.last_attempt_at,
            )
            .where(CrmTaskSync.id.in_(ids))
            .order_by(CrmTaskSync.next_attempt_at)
        )
    ).all()
    await session.execute(
        update(CrmTaskSync)
        .where(CrmTaskSync.id.in_(ids))
        .values(
            claimed_by=holder,
            attempts=CrmTaskSync.attempts + 1,
            next_attempt_at=now + hold,
            last_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return [
        Claimed(
            id=row.id,
            task_id=row.task_id,
            crm=row.crm,
            crm_object_id=row.crm_object_id,
            attempt=row.attempts + 1,
            retry_until=row.retry_until,
            tried_before=row.last_attempt_at is not None,
        )
        for row in before
    ]


async def task_for_crm(
    session: AsyncSession, task_id: uuid.UUID, crm: str
) -> tuple[TaskForCrm, int] | None:
    """The task as the CRM gets it, with its version; None when it is gone."""
    row = (
        await session.execute(
            select(Task, Account.name, Account.external_ids, Contract.external_ids)
            .join(Account, Account.id == Task.account_id)
            .join(Contract, Contract.id == Task.contract_id)
            .where(Task.id == task_id)
        )
    ).one_or_none()
    if row is None:
        return None
    task, account_name, account_ids, contract_ids = row
    return (
        TaskForCrm(
            task_id=task.id,
            kind=task.kind,
            title=task.title,
            description=task.description,
            due_date=task.due_date,
            priority=task.priority,
            status=task.status,
            status_reason=task.status_reason,
            outcome=task.outcome,
            owner=task.owner,
            account_name=account_name,
            account_crm_id=_external_id(account_ids, crm),
            contract_crm_id=_external_id(contract_ids, crm),
        ),
        task.version,
    )


def _external_id(external_ids: dict[str, Any] | None, crm: str) -> str | None:
    value = (external_ids or {}).get(crm)
    return str(value) if value not in (None, "") else None


class Syncer:
    """The syncer of one process; `run` loops until `stop` is set, `step` claims and
    pushes one batch (tests and the backfill drive it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        connectors: list[Connector],
        *,
        holder: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.connectors = {connector.crm: connector for connector in connectors}
        self.holder = holder or lease.new_holder_id("crm-sync")
        self.hold = timedelta(seconds=2 * settings.crm_sync_timeout_seconds)
        self.initial = settings.webhooks_retry_initial_seconds
        self.cap = settings.webhooks_retry_max_interval_seconds
        self.window = timedelta(seconds=settings.webhooks_retry_window_seconds)
        self.concurrency = settings.crm_sync_concurrency
        self.poll_seconds = settings.crm_sync_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._log = _log.bind(holder=self.holder)

    def wake(self) -> None:
        """New syncs are due (the dispatcher of this process just made some)."""
        self._wake.set()

    async def claim(self, limit: int) -> list[Claimed]:
        """Claims up to `limit` due rows; a cheap read first, so an idle syncer never
        takes SQLite's write lock."""
        crms = sorted(self.connectors)
        if not crms:
            return []
        now = utcnow()
        async with self.db.read() as session:
            if await session.scalar(_due(now, crms).limit(1)) is None:
                return []
        async with self.db.transaction() as session:
            return await claim(
                session, self.holder, crms=crms, limit=limit, now=now, hold=self.hold
            )

    async def push(self, claimed: Claimed) -> Pushed:
        """Brings the CRM's copy to the task as it is now; never raises for what the
        CRM or the network does."""
        connector = self.connectors[claimed.crm]
        async with self.db.read() as session:
            found = await task_for_crm(session, claimed.task_id, claimed.crm)
        if found is None:
            return Pushed(
                claimed.crm_object_id,
                error=CrmCallFailed("the task no longer exists", permanent=True),
            )
        task, version = found
        object_id = claimed.crm_object_id
        try:
            if object_id is None and claimed.tried_before:
                object_id = await connector.find(task.task_id)
            if object_id is None:
                object_id = await connector.create(task)
            else:
                await connector.update(object_id, task)
        except CrmCallFailed as exc:
            return Pushed(object_id, error=exc)
        except Exception as exc:  # an answer the connector did not expect: logged, retried
            self._log.exception("crm_push_failed", task_id=str(task.task_id), crm=claimed.crm)
            return Pushed(object_id, error=CrmCallFailed(f"unexpected: {describe(exc)}"))
        return Pushed(object_id, version=version)

    async def record(self, claimed: Claimed, pushed: Pushed) -> str | None:
        """Writes the push's outcome (`synced`, `retried` or `failed`); None when the
        claim was lost meanwhile."""
        now = utcnow()
        values: dict[str, Any] = {
            "claimed_by": None,
            "crm_object_id": pushed.crm_object_id,
            "updated_at": now,
        }
        if pushed.error is None:
            assert pushed.version is not None
            behind = CrmTaskSync.wanted_version > pushed.version
            outcome = "synced"
            values |= {
                "synced_version": pushed.version,
                "last_error": None,
                "attempts": 0,
                "status": case((behind, "pending"), else_="synced"),
                "next_attempt_at": case((behind, now), else_=None),
            }
        else:
            error = pushed.error
            at = None
            if not error.permanent:
                at = retry_at(
                    attempt=claimed.attempt,
                    now=now,
                    retry_until=claimed.retry_until or now + self.window,
                    asked_delay=error.retry_after,
                    initial=self.initial,
                    cap=self.cap,
                    rng=self.rng,
                )
            if at is not None and pushed.crm_object_id is None:
                at = max(at, now + self.hold)  # the lookup must see a create that went through
            outcome = "retried" if at is not None else "failed"
            values |= {
                "last_error": str(error)[:_ERROR_CHARS],
                "status": "pending" if at is not None else "failed",
                "next_attempt_at": at,
            }
        async with self.db.transaction() as session:
            result = await session.execute(
                update(CrmTaskSync)
                .where(CrmTaskSync.id == claimed.id, CrmTaskSync.claimed_by == self.holder)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self._log.info("crm_sync_claim_lost", task_id=str(claimed.task_id), crm=claimed.crm)
            return None
        CRM_SYNCS.labels(crm=claimed.crm, outcome=outcome).inc()
        self._log.info(
            "crm_sync_attempt",
            task_id=str(claimed.task_id),
            crm=claimed.crm,
            crm_object_id=pushed.crm_object_id,
            attempt=claimed.attempt,
            outcome=outcome,
            error=None if pushed.error is None else str(pushed.error),
        )
        return outcome

    async def sync(self, claimed: Claimed) -> str | None:
        """One push, start to finish; its outcome, as `record` returns it. A database
        failure (reading the task, recording the outcome) is only logged (None): the
        claim expires and the row is pushed again."""
        try:
            return await self.record(claimed, await self.push(claimed))
        except Exception as exc:
            self._log.warning(
                "crm_sync_unrecorded", task_id=str(claimed.task_id), error=describe(exc)
            )
            return None

    async def step(self) -> int:
        """Claims one batch and pushes it, `RENEWALS_CRM_SYNC_CONCURRENCY` at a time;
        returns how many rows it pushed."""
        claimed = await self.claim(self.concurrency)
        await asyncio.gather(*(self.sync(item) for item in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Keeps up to `RENEWALS_CRM_SYNC_CONCURRENCY` pushes in flight until `stop`, then
        finishes those; database errors back off exponentially up to
        `RENEWALS_WORKER_MAX_BACKOFF_SECONDS`."""
        loop = ClaimLoop(
            claim=self.claim,
            work=self.sync,
            concurrency=self.concurrency,
            poll_seconds=self.poll_seconds,
            max_backoff=self.max_backoff,
            log=self._log,
            claim_failed="crm_sync_claim_failed",
        )
        await loop.run(stop, self._wake)
