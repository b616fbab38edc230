"""Which failures are worth retrying (DESIGN §2 "Failures").

Transient errors say nothing about the event: the database was unreachable, locked or
restarting, a deadlock picked us as the victim, or a row the batch read changed under
it (a user closed a task: redone from fresh reads, the user's close stands). The batch
is rolled back and retried with backoff, forever, and never dead-lettered. Anything
else that an event makes the engine raise — it cannot be parsed, fails validation,
breaks a constraint — is poison: retrying would fail the same way, so the event goes to
the dead letters.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

_TRANSIENT_ASYNCPG: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # connection refused, lost, rejected
    asyncpg.exceptions.CannotConnectNowError,  # server starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.exceptions.LockNotAvailableError,  # lock_timeout
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
)
"""Server-side conditions that pass by themselves."""

_TRANSIENT_SQLALCHEMY: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # SQLite "database is locked", lost connections
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # connection pool exhausted
    StaleDataError,  # a versioned row (a task) changed since the batch read it
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (`orig` of SQLAlchemy errors) and its explicit causes.

    Implicit contexts (`__context__`) are not followed: a `ValueError` raised while some
    connection error was being handled is still the engine's own `ValueError`.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield from _chain(orig)
        current = current.__cause__


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same batch later may succeed."""
    for error in _chain(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _TRANSIENT_SQLALCHEMY + _TRANSIENT_ASYNCPG):
            return True
        if isinstance(error, OSError):  # ConnectionError and TimeoutError too
            return True
        if isinstance(error, asyncpg.exceptions.InterfaceError) and "connection" in str(error):
            return True
    return False
