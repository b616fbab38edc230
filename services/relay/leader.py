"""Exactly one active relay (DESIGN §2): who may publish the outbox right now.

Two implementations behind one small interface, chosen by the database's dialect:

- Postgres: a session-level advisory lock (`pg_try_advisory_lock`) taken on a dedicated
  connection that stays open while the relay leads. The lock lives exactly as long as
  that session, so when the active relay dies — crash, SIGKILL, lost network — Postgres
  ends its session and the lock is free; a standby retrying every few seconds takes
  over. The leader checks its connection before every batch: a relay whose lock
  connection broke stops publishing at once. Advisory locks are per database, so
  relays of different databases never see each other.
- SQLite: the lease row of the embedded consumers (`shared.runtime.lease`),
  named `relay`, renewed every `ttl / 3` and released on shutdown. A lease can only
  expire, not notice a death, so a standby takes over within the TTL; a batch that
  runs longer than the TTL (a broker stall) may overlap with the next leader and
  publish some rows twice, which consumers absorb (they dedupe by inbox key).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy.engine import make_url

from shared.clock import utcnow
from shared.db import Database
from shared.runtime import lease

RELAY = "relay"
"""The lease name (SQLite) of the relay."""

RELAY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"renewals:relay").digest()[:8], signed=True)
"""The advisory lock key (Postgres) of the relay: a fixed 64-bit number, unlikely to
collide with any other advisory lock of the database."""

_TIMEOUT = 5.0
_log = structlog.get_logger("renewals.relay")


class Leadership(Protocol):
    """Leadership of the relay. `acquire` is called before every batch (and by a standby
    every few seconds): it takes leadership if it is free, confirms it if this process
    already holds it, and returns False while another relay leads. It raises when the
    database cannot be reached; the caller then counts itself as not leading."""

    async def acquire(self) -> bool: ...

    async def release(self) -> None:
        """Gives leadership up (if held) so a standby takes over at once; never raises."""
        ...


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as a plain asyncpg DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class AdvisoryLockLeadership:
    """Postgres: a session-level advisory lock held on a dedicated connection."""

    def __init__(self, url: str, *, key: int = RELAY_LOCK_KEY) -> None:
        self._dsn = asyncpg_dsn(url)
        self._key = key
        self._connection: Any = None
        self.held = False

    async def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.is_closed():
                self.held = False
                self._connection = await asyncpg.connect(self._dsn, timeout=_TIMEOUT)
            if self.held:
                # The lock lives as this session: a live session still holds it.
                await self._connection.fetchval("SELECT 1", timeout=_TIMEOUT)
                return True
            self.held = bool(
                await self._connection.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self._key, timeout=_TIMEOUT
                )
            )
            return self.held
        except BaseException:
            await self._close()
            raise

    async def release(self) -> None:
        if self._connection is not None and self.held and not self._connection.is_closed():
            try:
                await self._connection.fetchval(
                    "SELECT pg_advisory_unlock($1)", self._key, timeout=_TIMEOUT
                )
            except Exception as exc:  # closing the session below releases it anyway
                _log.warning("advisory_unlock_failed", error=str(exc))
        await self._close()

    async def _close(self) -> None:
        connection, self._connection, self.held = self._connection, None, False
        if connection is None:
            return
        try:
            await asyncio.wait_for(connection.close(), timeout=_TIMEOUT)
        except Exception:
            connection.terminate()


class LeaseLeadership:
    """SQLite: the `relay` lease row, renewed every `ttl / 3`."""

    def __init__(self, db: Database, holder: str, *, ttl: timedelta = lease.DEFAULT_TTL) -> None:
        self.db = db
        self.holder = holder
        self.ttl = ttl
        self.held = False
        self._renewed_at: datetime | None = None

    async def acquire(self) -> bool:
        now = utcnow()
        if self.held and self._renewed_at is not None and now - self._renewed_at < self.ttl / 3:
            return True
        if not self.held:
            # A cheap read first, so a standby does not take the write lock every turn.
            async with self.db.read() as session:
                other = await lease.lease_holder(session, RELAY, now=now)
            if other is not None and other != self.holder:
                return False
        try:
            async with self.db.transaction() as session:
                self.held = await lease.acquire(session, RELAY, self.holder, ttl=self.ttl, now=now)
        except BaseException:
            self.held = False
            raise
        self._renewed_at = now if self.held else None
        return self.held

    async def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(Exception):
            async with self.db.transaction() as session:
                await lease.release(session, RELAY, self.holder)


def leadership_for(db: Database, holder: str, *, lease_ttl: timedelta) -> Leadership:
    """The advisory lock on Postgres, the lease row anywhere else (SQLite)."""
    if db.dialect == "postgresql":
        return AdvisoryLockLeadership(db.url)
    return LeaseLeadership(db, holder, ttl=lease_ttl)
