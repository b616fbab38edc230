"""Kafka worker tests run against Apache Kafka (`kafka_broker`, or `own_broker` for a test
that kills or restarts it) and real databases (`database`, `postgres_database` from the
root conftest)."""

from __future__ import annotations

from tests.support.broker import kafka_broker, own_broker  # noqa: F401
