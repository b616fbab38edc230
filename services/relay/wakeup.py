"""When the relay looks at the outbox again: on a NOTIFY (Postgres) or after a poll interval.

`shared.events.outbox.emit` makes every committing transaction with outbox rows send
`NOTIFY renewals_outbox` on Postgres. The relay `LISTEN`s on a dedicated asyncpg
connection and reads the outbox as a notification arrives. Notifications are a
latency optimisation only: the relay also polls every `RENEWALS_RELAY_POLL_SECONDS`, so
a lost listener connection (it is re-opened on the next wait) or a notification sent
while the relay was busy costs at most one poll interval. SQLite has no NOTIFY and
always polls.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
import structlog

from services.relay.leader import asyncpg_dsn
from shared.db import Database
from shared.events.outbox import OUTBOX_CHANNEL
from shared.runtime.steps import wait_for_any

_TIMEOUT = 5.0
_log = structlog.get_logger("renewals.relay")


class Wakeup(Protocol):
    def clear(self) -> None:
        """Forgets earlier notifications; called right before the outbox is read, so a
        row committed during or after that read wakes the next wait."""
        ...

    async def wait(self, stop: asyncio.Event, timeout: float) -> None:
        """Returns on a notification, when `stop` is set, or after `timeout` seconds."""
        ...

    async def close(self) -> None: ...


class PollingWakeup:
    """SQLite: no notifications, only the poll interval."""

    def clear(self) -> None:
        return None

    async def wait(self, stop: asyncio.Event, timeout: float) -> None:
        await wait_for_any(stop, timeout=timeout)

    async def close(self) -> None:
        return None


class ListenWakeup:
    """Postgres: `LISTEN renewals_outbox` on a dedicated connection, with the poll
    interval as fallback."""

    def __init__(self, url: str, *, channel: str = OUTBOX_CHANNEL) -> None:
        self._dsn = asyncpg_dsn(url)
        self._channel = channel
        self._notified = asyncio.Event()
        self._connection: Any = None
        self._broken = False

    def _on_notify(self, *_args: object) -> None:
        self._notified.set()

    async def _listen(self, timeout: float) -> None:
        if self._connection is not None and not self._connection.is_closed():
            return
        await self._drop()
        try:
            connection = await asyncpg.connect(self._dsn, timeout=min(_TIMEOUT, max(timeout, 0.1)))
            await connection.add_listener(self._channel, self._on_notify)
        except Exception as exc:
            if not self._broken:
                _log.warning("listen_failed", channel=self._channel, error=str(exc))
            self._broken = True
            return
        self._connection = connection
        if self._broken:
            _log.info("listen_restored", channel=self._channel)
        self._broken = False
        # Rows may have committed while nobody listened: look at once.
        self._notified.set()

    def clear(self) -> None:
        self._notified.clear()

    async def wait(self, stop: asyncio.Event, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._listen(timeout)
        await wait_for_any(stop, self._notified, timeout=max(deadline - loop.time(), 0))

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await asyncio.wait_for(connection.close(), timeout=_TIMEOUT)
        except Exception:
            with contextlib.suppress(Exception):
                connection.terminate()

    async def close(self) -> None:
        await self._drop()


def wakeup_for(db: Database) -> Wakeup:
    if db.dialect == "postgresql":
        return ListenWakeup(db.url)
    return PollingWakeup()
