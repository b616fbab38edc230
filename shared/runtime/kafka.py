"""Kafka as every process uses it: the connection settings of every client, the topics of
the two streams (DESIGN §2, §4), created before anything is produced; the record headers;
the consumer heartbeat.

Every producer, consumer and admin client is built with `client_kwargs`, so TLS and SASL
apply to all of them or to none: a client built by hand would connect in plaintext to a
listener that expects TLS and fail only in production.

Topics are ensured every time the relay (re)connects, not once at deploy time: a broker
that auto-creates topics (Kafka's default) gives an unknown one ONE partition, which
would silently break the partitioning by account. "Already exists" is fine; a topic that
exists with another partition count is left alone and logged — adding partitions would
move keys to other partitions and break per-account order for events in flight.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.config import KafkaSecurityProtocol, Settings
from shared.events.types import Stream

_log = structlog.get_logger("renewals.relay")

CONTENT_TYPE = "application/cloudevents+json"
HEADERS = [("content-type", CONTENT_TYPE.encode())]
"""Every record carries one CloudEvent in structured mode."""

_ADMIN_TIMEOUT_MS = 10_000


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context towards the brokers (None in plaintext): it verifies the broker's
    certificate and host name against `kafka_ssl_cafile`, or the system's trust store
    when no CA file is given."""
    if settings.kafka_security_protocol is KafkaSecurityProtocol.PLAINTEXT:
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def client_kwargs(settings: Settings, client_id: str) -> dict[str, Any]:
    """The connection arguments of an aiokafka producer, consumer or admin client."""
    protocol = settings.kafka_security_protocol
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": client_id,
        "security_protocol": protocol.value,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if protocol is KafkaSecurityProtocol.SASL_SSL:
        password = settings.kafka_sasl_password
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism.value
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = password.get_secret_value() if password else None
    return kwargs


def topic_for(settings: Settings, stream: str) -> str:
    """The topic of an outbox row's stream: lifecycle events feed the engine,
    notifications the webhook dispatcher and other listeners."""
    if stream == Stream.NOTIFICATIONS:
        return settings.kafka_notifications_topic
    return settings.kafka_topic


def heartbeat_interval_ms(session_timeout_ms: int) -> int:
    """At most a second: a member learns of a rebalance (another member left or joined)
    only at its next heartbeat, so the interval, not the session timeout, bounds how long
    partitions stay unowned after a clean LeaveGroup."""
    return min(session_timeout_ms // 3, 1000)


def stream_topics(settings: Settings) -> list[str]:
    return [settings.kafka_topic, settings.kafka_notifications_topic]


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Each topic's partition count. A topic just created (by us or by another process
    starting at the same time) is described without partitions until its leaders are
    elected, so the description is asked again, within the admin timeout, until every
    topic has its partitions."""
    deadline = time.monotonic() + _ADMIN_TIMEOUT_MS / 1000
    while True:
        described = await admin.describe_topics(names)
        counts = {topic["topic"]: len(topic["partitions"]) for topic in described}
        if all(counts.get(name) for name in names) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.1)


async def ensure_topics(settings: Settings, topics: Iterable[str] | None = None) -> dict[str, int]:
    """Creates the topics that do not exist with `kafka_partitions` partitions; returns
    each topic's partition count as the broker reports it. Raises a `KafkaError` when
    the broker is unreachable or refuses for any reason but "already exists"."""
    names = list(dict.fromkeys(topics if topics is not None else stream_topics(settings)))
    admin = AIOKafkaAdminClient(
        **client_kwargs(settings, "renewals-admin"), request_timeout_ms=_ADMIN_TIMEOUT_MS
    )
    try:
        await admin.start()
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=settings.kafka_partitions,
                    replication_factor=settings.kafka_replication_factor,
                )
                for name in names
            ],
            timeout_ms=_ADMIN_TIMEOUT_MS,
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code == 0:
                _log.info("topic_created", topic=name, partitions=settings.kafka_partitions)
                continue
            error = for_code(code)
            if error is not TopicAlreadyExistsError:
                message = topic_error[2] if len(topic_error) > 2 else None
                raise error(f"creating topic {name!r}: {message or error.message}")
        counts = await _partition_counts(admin, names)
    finally:
        await admin.close()
    for name, count in counts.items():
        if count != settings.kafka_partitions:
            _log.warning(
                "topic_partitions_differ",
                topic=name,
                partitions=count,
                configured=settings.kafka_partitions,
            )
    return counts
