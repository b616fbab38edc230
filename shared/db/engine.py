"""Engines and sessions for both dialects.

SQLite gets WAL, foreign keys and a busy timeout on every connection, and write
transactions start with `BEGIN IMMEDIATE` so two writers queue on the lock instead of
failing with "database is locked" when a read transaction tries to upgrade. Reads use a
second engine with plain deferred transactions so they never wait for writers.

Every Postgres connection a `Database` opens carries a statement timeout (the server
cancels a statement that runs longer, SQLSTATE 57014), so one slow report cannot hold a
connection and its snapshot for minutes; SQLite has no such setting (its busy timeout
only bounds waits for the write lock). Migrations and their engines run without one.

Every engine hides bound parameters from its errors and logs: a failing statement's
values are e-mail addresses, names and API key hashes, and its error text travels into
logs and tracebacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout_ms: int) -> AsyncEngine:
    engine = create_async_engine(url, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


POSTGRES_CONNECT_ARGS: dict[str, Any] = {"server_settings": {"jit": "off"}}
"""JIT compilation off: the reports' queries over 100,000 contracts pass
`jit_above_cost`, and compiling them took 0.5 to 2.5 s for queries that run in 50 to
500 ms; the short transactional queries never gain from it."""

API_POOL_SIZE = 30
"""The API's connections, all kept open: as many as another process's pool may open."""
STATEMENT_TIMEOUT_MS = 15_000
"""The default of `RENEWALS_DB_STATEMENT_TIMEOUT_MS`."""


def _postgres_connect_args(statement_timeout_ms: int) -> dict[str, Any]:
    """Sent in the startup packet, so the setting holds from the first statement of every
    connection, pooled or not, without a round trip; 0 is Postgres's own "no limit"."""
    settings = {**POSTGRES_CONNECT_ARGS["server_settings"]}
    settings["statement_timeout"] = str(int(statement_timeout_ms))
    return {"server_settings": settings}


def create_engine(
    url: str,
    *,
    immediate: bool = True,
    busy_timeout_ms: int = 5000,
    pre_ping: bool = True,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    pool_size: int = 10,
    max_overflow: int = 20,
) -> AsyncEngine:
    """One engine per URL; `immediate` only matters on SQLite, `pre_ping` on Postgres.

    A pre-ping costs three round trips per checkout with asyncpg (BEGIN, `;`, ROLLBACK).
    Without it, the first statement on a connection the server dropped fails with a
    disconnect error; SQLAlchemy then invalidates the whole pool (every connection older
    than the failure reconnects at its next checkout), so one failure per connection then
    in use is all a restart costs. Only callers that answer those failures as retryable
    (the API: 503) should turn it off. `statement_timeout_ms` only matters on Postgres.

    The pool keeps `pool_size` connections open and opens up to `max_overflow` more
    under load, each closed again when it is returned to a full pool. The API keeps all
    of its connections (`API_POOL_SIZE`, no overflow): under load its demand rises and
    falls around any smaller pool all the time, and each connection reopened cost a TLS
    handshake."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, immediate=immediate, busy_timeout_ms=busy_timeout_ms)
    return create_async_engine(
        url,
        pool_pre_ping=pre_ping,
        pool_size=pool_size,
        hide_parameters=True,
        max_overflow=max_overflow,
        connect_args=_postgres_connect_args(statement_timeout_ms),
    )


def create_unpooled_engine(url: str) -> AsyncEngine:
    """For short-lived tools (migrations, CLI commands) that must not keep connections."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, immediate=True, busy_timeout_ms=5000)
    return create_async_engine(
        url, poolclass=NullPool, connect_args=POSTGRES_CONNECT_ARGS, hide_parameters=True
    )


class Database:
    """The writer and reader session factories of one database."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 5000,
        pre_ping: bool = True,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
        pool_size: int = 10,
        max_overflow: int = 20,
    ) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.engine = create_engine(
            url,
            immediate=True,
            busy_timeout_ms=busy_timeout_ms,
            pre_ping=pre_ping,
            statement_timeout_ms=statement_timeout_ms,
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        self.read_engine = (
            create_engine(url, immediate=False, busy_timeout_ms=busy_timeout_ms)
            if self.dialect == "sqlite"
            else self.engine
        )
        self.writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self.reader = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write unit of work: commits on success, rolls back on any error."""
        async with self.writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
