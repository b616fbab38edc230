from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.config import Settings
from shared.events.types import Stream
from shared.runtime.kafka import ensure_topics, stream_topics, topic_for
from tests.support.broker import Broker, unique_topics

pytestmark = pytest.mark.kafka


async def _partitions(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


async def test_topics_are_created_with_the_configured_partition_count(
    kafka_broker: Broker,
) -> None:
    settings = Settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap, kafka_partitions=4, **unique_topics()
    )
    topics = stream_topics(settings)

    assert await ensure_topics(settings) == dict.fromkeys(topics, 4)
    assert await _partitions(kafka_broker.bootstrap, topics) == dict.fromkeys(topics, 4)


async def test_ensuring_existing_topics_again_is_harmless(kafka_broker: Broker) -> None:
    settings = Settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap, kafka_partitions=2, **unique_topics()
    )
    await ensure_topics(settings)
    # A restart with another count leaves the topics as they are (and logs it).
    again = await ensure_topics(settings.model_copy(update={"kafka_partitions": 5}))

    assert again == dict.fromkeys(stream_topics(settings), 2)


def test_each_stream_has_its_topic() -> None:
    settings = Settings(kafka_topic="life", kafka_notifications_topic="note")

    assert topic_for(settings, Stream.LIFECYCLE) == "life"
    assert topic_for(settings, Stream.NOTIFICATIONS) == "note"
    defaults = Settings.model_fields
    assert defaults["kafka_topic"].default == "renewals.lifecycle"
    assert defaults["kafka_notifications_topic"].default == "renewals.notifications"
    assert defaults["kafka_partitions"].default == 6
    assert defaults["kafka_idempotence"].default is True
