from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.broker import kafka_broker  # noqa: F401
from tests.support.databases import PostgresTemplates


@pytest.fixture
def empty_postgres_url(postgres_templates: PostgresTemplates) -> Iterator[str]:
    """A new Postgres database without any table: `renewals migrate` builds it."""
    url = postgres_templates.empty()
    yield url
    postgres_templates.drop(url)
