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

from shared.db.engine import create_unpooled_engine

MIGRATION_LOCK_KEY = 7_246_613_001
_ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    return config


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
            await connection.run_sync(migrate)
            await connection.commit()
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)
