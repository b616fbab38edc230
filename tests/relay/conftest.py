"""Relay tests run against Apache Kafka (`kafka_broker`) and real
databases (`database`, `postgres_database` from the root conftest)."""

from __future__ import annotations

from tests.support.broker import kafka_broker  # noqa: F401
