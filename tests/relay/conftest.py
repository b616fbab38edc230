"""Relay tests run against the real Kafka-protocol broker (`kafka_broker`) and real
databases; `database` and `postgres_database` are the worker tests' fixtures."""

from __future__ import annotations

from tests.support.broker import kafka_broker  # noqa: F401
from tests.worker.conftest import database, postgres_database  # noqa: F401
