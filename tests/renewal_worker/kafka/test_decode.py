"""How the Kafka worker reads a record: a CloudEvent, or the reason it is poison."""

from __future__ import annotations

import json

import pytest
from aiokafka import ConsumerRecord

from services.renewal_worker.sources.kafka_records import UNPARSEABLE, decode, dlq_headers
from tests.renewal_worker.kafka.helpers import missing_account_event


def _record(value: bytes | None, *, offset: int = 7) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="t",
        partition=2,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value or b""),
        headers=[("content-type", b"application/cloudevents+json")],
    )


def test_a_cloudevent_is_keyed_by_its_source_and_id() -> None:
    event = missing_account_event()
    decoded = decode(_record(json.dumps(event).encode()))
    assert decoded.error is None
    assert decoded.incoming.key == (event["source"], event["id"])
    assert (decoded.incoming.type, decoded.incoming.event) == (event["type"], event)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (None, "not JSON"),
        (b"[1, 2]", "not a CloudEvent: the value is not a JSON object"),
        (b'{"id": "x", "source": "s", "type": "t"}', "not a CloudEvent: no specversion"),
        (b'{"specversion": "1.0", "source": "s"}', "not a CloudEvent: no id, type"),
    ],
)
def test_a_record_that_is_no_cloudevent_is_poison_keyed_by_its_position(
    value: bytes | None, error: str
) -> None:
    decoded = decode(_record(value))
    assert decoded.error is not None
    assert decoded.error.startswith(error)
    if not value or not value.startswith(b"{"):
        assert decoded.incoming.key == ("kafka:t", "2:7")
        assert decoded.incoming.type == UNPARSEABLE
    # The same record redelivered has the same key.
    assert decode(_record(value)).incoming.key == decoded.incoming.key


def test_dlq_headers_keep_the_original_ones_and_say_where_the_record_came_from() -> None:
    headers = dlq_headers(_record(b"x"), "ValueError: boom")
    assert headers == [
        ("content-type", b"application/cloudevents+json"),
        ("error", b"ValueError: boom"),
        ("original-topic", b"t"),
        ("original-partition", b"2"),
        ("original-offset", b"7"),
    ]
