"""Leases: exactly one embedded consumer per stream at a time (DESIGN §2, embedded mode).

A `worker_leases` row names the holder of a consumer (`lifecycle`, …) and when its lease
expires. The holder renews it with every batch, in the batch's own transaction, through
a conditional UPDATE (`holder = me OR expires_at < now`): a holder that lost its lease
(it stalled past the TTL and another process took over) finds no row to update and
gives up the batch instead of applying events twice. On Postgres the UPDATE also keeps
the row locked until the batch commits, so nobody can take the lease mid-batch; SQLite
serialises writers anyway.

Expiry is judged by the clocks of the competing processes; in embedded mode they share
a machine. A stopping holder releases its lease, so a successor starts at once.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.models import WorkerLease

LIFECYCLE = "lifecycle"
"""The lease of the embedded lifecycle consumer (the engine)."""

DEFAULT_TTL = timedelta(seconds=10)


def new_holder_id(role: str = "worker") -> str:
    """Unique per process and role, readable in logs: `worker@host:1234:5f1c…`."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(
    session: AsyncSession,
    name: str,
    holder: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> bool:
    """Takes or renews the lease inside the caller's transaction; False when another
    process holds it and it has not expired. The caller commits."""
    now = now or utcnow()
    expires_at = now + ttl
    renewed = await session.execute(
        update(WorkerLease)
        .where(
            WorkerLease.name == name,
            or_(WorkerLease.holder == holder, WorkerLease.expires_at < now),
        )
        .values(holder=holder, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    values = {"name": name, "holder": holder, "expires_at": expires_at}
    dialect = session.get_bind().dialect.name
    statement = (
        postgresql.insert(WorkerLease).values(values).on_conflict_do_nothing()
        if dialect == "postgresql"
        else sqlite.insert(WorkerLease).values(values).on_conflict_do_nothing()
        if dialect == "sqlite"
        else insert(WorkerLease).values(values)
    )
    inserted = await session.execute(statement)
    return bool(inserted.rowcount == 1)  # type: ignore[attr-defined]


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Gives the lease up if this holder still has it, so a successor need not wait."""
    await session.execute(
        delete(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.holder == holder)
        .execution_options(synchronize_session=False)
    )


async def lease_holder(
    session: AsyncSession, name: str, *, now: datetime | None = None
) -> str | None:
    """Who holds the lease right now, or None when nobody does (no row, or it expired)."""
    lease = await session.scalar(select(WorkerLease).where(WorkerLease.name == name))
    if lease is None or lease.expires_at < (now or utcnow()):
        return None
    return lease.holder
