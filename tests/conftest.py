from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from shared.db import Database
from tests.support.api import Harness, open_harness
from tests.support.databases import PostgresTemplates, SqliteTemplates

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

BACKENDS = ["sqlite", "postgres"]

TEST_SECRET_KEY = "Tm8gc2VjcmV0IGhlcmU6IGEgdGVzdCBrZXkgb25seS4="
"""Every process of a deployment shares RENEWALS_SECRET_KEY; so do the tests and the
`renewals` processes they start (they inherit this environment)."""
os.environ.setdefault("RENEWALS_SECRET_KEY", TEST_SECRET_KEY)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first: under `pytest -n 2` a minute-long fault scenario
    collected late keeps one worker busy long after the other has run out of tests."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(Path(tmp_path_factory.mktemp("sqlite")))


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[PostgresTemplates]:
    templates = PostgresTemplates()
    yield templates
    templates.close()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    """A fresh migrated database per test, on each backend."""
    templates: SqliteTemplates | PostgresTemplates = request.getfixturevalue(
        f"{request.param}_templates"
    )
    url = templates.clone()
    yield url
    templates.drop(url)


@pytest.fixture
def postgres_db_url(postgres_templates: PostgresTemplates) -> Iterator[str]:
    """A fresh migrated Postgres database, for behaviour only Postgres has."""
    url = postgres_templates.clone()
    yield url
    postgres_templates.drop(url)


@pytest.fixture
def sqlite_db_url(sqlite_templates: SqliteTemplates) -> Iterator[str]:
    """A fresh migrated SQLite file, for behaviour only SQLite has."""
    url = sqlite_templates.clone()
    yield url
    sqlite_templates.drop(url)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database with no tables, on each backend."""
    templates: SqliteTemplates | PostgresTemplates = request.getfixturevalue(
        f"{request.param}_templates"
    )
    url = templates.empty()
    yield url
    templates.drop(url)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """The test's fresh database (see `db_url`), on each backend."""
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def postgres_database(postgres_db_url: str) -> AsyncIterator[Database]:
    """A fresh Postgres database: concurrent writers commit ids out of order only there."""
    db = Database(postgres_db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(db_url) as harness:
        yield harness
