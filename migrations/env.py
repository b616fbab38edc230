"""One migration chain for SQLite and Postgres.

`renewals migrate` hands over an open connection (see `shared.db.migrate`); the
`alembic` command line builds one from `RENEWALS_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import shared.models  # noqa: F401  (registers every table on the metadata)
from shared.config import Settings
from shared.db.base import Base
from shared.db.engine import create_unpooled_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = create_unpooled_engine(Settings().database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine())
