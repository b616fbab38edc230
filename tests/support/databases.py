"""Fresh, migrated databases for tests, cloned from a template migrated once per session.

SQLite clones are file copies; Postgres clones use `CREATE DATABASE … TEMPLATE …`. With
`RENEWALS_REQUIRE_SERVICES=1` (CI) a missing Postgres fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.db.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("RENEWALS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def services_required() -> bool:
    return os.environ.get("RENEWALS_REQUIRE_SERVICES", "") not in {"", "0", "false"}


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def unavailable(what: str, reason: str) -> NoReturn:
    """Skips locally; fails under RENEWALS_REQUIRE_SERVICES, where nothing may be skipped."""
    message = f"{what} is unavailable: {reason}"
    if services_required():
        pytest.fail(message + " (RENEWALS_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(message)


class SqliteTemplates:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        asyncio.run(upgrade(f"sqlite+aiosqlite:///{self.template}"))

    def empty(self) -> str:
        return f"sqlite+aiosqlite:///{self.root / uuid.uuid4().hex}.db"

    def clone(self) -> str:
        path = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def copy(self, url: str) -> str:
        """A new database holding what the one at `url` holds (its engines disposed)."""
        path = self.root / f"{uuid.uuid4().hex}.db"
        source = make_url(url).database or ""
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{path}{suffix}")
        return f"sqlite+aiosqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresTemplates:
    def __init__(self) -> None:
        self.base_url = postgres_url()
        self.template = f"renewals_tpl_{uuid.uuid4().hex[:12]}"
        self.error: str | None = None
        try:
            asyncio.run(_admin(self.base_url, f'CREATE DATABASE "{self.template}"'))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        asyncio.run(upgrade(self._url(self.template)))

    def _url(self, database: str) -> str:
        return make_url(self.base_url).set(database=database).render_as_string(hide_password=False)

    def clone(self) -> str:
        return self._create(f'TEMPLATE "{self.template}"')

    def empty(self) -> str:
        return self._create("")

    async def copy(self, url: str) -> str:
        """A new database holding what the one at `url` holds (no connection may be open
        to it: Postgres copies a database only as a template)."""
        name = f"renewals_t_{uuid.uuid4().hex[:16]}"
        source = make_url(url).database
        await _admin(self.base_url, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return self._url(name)

    def _create(self, template_clause: str) -> str:
        if self.error is not None:
            unavailable("Postgres", self.error)
        name = f"renewals_t_{uuid.uuid4().hex[:16]}"
        asyncio.run(_admin(self.base_url, f'CREATE DATABASE "{name}" {template_clause}'))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        asyncio.run(_admin(self.base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.error is None:
            asyncio.run(
                _admin(self.base_url, f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            )


@asynccontextmanager
async def database_copy(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[str]:
    """A copy of the `db_url` fixture's database, on its backend, dropped afterwards: two
    paths run from the same rows and their writes compared. No engine may be open on
    `db_url` while it is copied."""
    backend = request.node.callspec.params["db_url"]
    templates: SqliteTemplates | PostgresTemplates = request.getfixturevalue(f"{backend}_templates")
    copy_url = await templates.copy(db_url)
    try:
        yield copy_url
    finally:
        await asyncio.to_thread(templates.drop, copy_url)
