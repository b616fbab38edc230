"""Schema migrations, run by `renewals migrate`, `make run` and the tests.

On Postgres a session advisory lock serialises concurrent runs, so two replicas that
start at once cannot both apply the same migration.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

import migrations
from shared.db.engine import create_unpooled_engine

MIGRATION_LOCK_KEY = 7_246_613_001


def alembic_config() -> Config:
    """Built in code from the installed `migrations` package, so an installed copy (a
    container image) migrates without the repository's alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def _foreign_keys_off(connection: Connection) -> None:
    """Batch mode rebuilds a SQLite table (copy, drop, rename), and dropping a table
    others point at fails while foreign keys are enforced. The pragma only takes effect
    outside a transaction, so it goes straight to the driver, before anything begins
    one; the connection is discarded after the migrations."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


async def _run(url: str, action: str, revision: str) -> None:
    engine = create_unpooled_engine(url)

    def migrate(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)

    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await connection.commit()
            else:
                await connection.run_sync(_foreign_keys_off)
            await connection.run_sync(migrate)
            await connection.commit()
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)
