"""The asyncpg connection under a session, for the few hot writes where SQLAlchemy's
own cost per statement is most of the work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def asyncpg_connection(session: AsyncSession) -> Any | None:
    """The session's asyncpg connection on Postgres (None on SQLite), in the session's
    transaction: what runs on it commits or rolls back with the session. The session must
    have run a statement already, since SQLAlchemy begins the driver's transaction with
    its first one; a connection outside a transaction would commit each statement alone,
    so that is refused."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        raise RuntimeError("the session has not begun its transaction on the driver")
    return driver
