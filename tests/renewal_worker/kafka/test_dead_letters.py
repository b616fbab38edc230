"""Poison records: to `<topic>.dlq` with their origin in headers and to the dead letters
table; the partition moves on; `renewals dlq list|replay` in both modes."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.renewal_worker.sources.embedded import process_batch
from services.renewal_worker.sources.kafka import KafkaWorker, dlq_topic
from shared.config import Settings
from shared.db import Database
from shared.domain.dead_letters.replay import replay
from shared.models import Account, OutboxEvent
from tests.renewal_worker.helpers import add_outbox_row
from tests.renewal_worker.kafka.helpers import (
    committed_offsets,
    created_event,
    dead_letter_rows,
    ensure_worker_topics,
    inbox_event_ids,
    make_contracts,
    missing_account_event,
    produce,
    running,
    wait_applied,
    worker_env,
    worker_settings,
)
from tests.support.broker import Broker, consume, value_of
from tests.support.cli import RENEWALS, cli_env


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        RENEWALS,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.kafka
async def test_poison_records_go_to_the_dlq_and_the_partition_moves_on(
    postgres_database: Database, kafka_broker: Broker
) -> None:
    # Postgres only, to keep the suite fast: the dead-letter rows are written by the step
    # both consumers share, which the embedded replay test runs on both databases.
    database = postgres_database
    settings = worker_settings(database.url, kafka_broker.bootstrap)
    await ensure_worker_topics(settings)
    first, last = [created_event(c) for c in await make_contracts(database, 2)]
    broken = missing_account_event()
    dead_before = REGISTRY.get_sample_value("renewals_dead_letters_total") or 0.0
    # One key: one partition, in this order; the poison sits between good records.
    await produce(
        kafka_broker.bootstrap,
        settings.kafka_topic,
        [first, b"\xffnot json{", broken, last],
        key="one-key",
    )

    async with running(KafkaWorker(database, settings)):
        await wait_applied(database, 2)

    assert sorted(await inbox_event_ids(database)) == sorted([first["id"], last["id"]])
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == 4
    letters = await dead_letter_rows(database)
    assert len(letters) == 2
    by_type = {letter.type: letter for letter in letters}
    assert set(by_type) == {"unparseable", "account.updated"}
    assert by_type["account.updated"].event == broken
    assert by_type["account.updated"].event_id == broken["id"]
    assert "does not exist" in by_type["account.updated"].error
    assert by_type["unparseable"].error.startswith("not JSON")
    assert (REGISTRY.get_sample_value("renewals_dead_letters_total") or 0.0) - dead_before == 2

    [partition] = offsets
    records = await consume(kafka_broker.bootstrap, [dlq_topic(settings.kafka_topic)], expected=2)
    assert len(records) == 2
    headers = [dict(record.headers) for record in records]
    assert [h["original-offset"] for h in headers] == [b"1", b"2"]
    for h in headers:
        assert h["original-topic"] == settings.kafka_topic.encode()
        assert h["original-partition"] == str(partition).encode()
        assert h["error"]
    assert headers[0]["error"].startswith(b"not JSON")
    assert b"does not exist" in headers[1]["error"]
    assert records[0].value == b"\xffnot json{"
    assert value_of(records[1]) == broken
    assert all(record.key == b"one-key" for record in records)

    # The operator's view, then a replay once the cause is fixed.
    env = worker_env(settings)
    code, out, _ = await _cli(env, "dlq", "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split("\t")[:4] == ["id", "type", "event_id", "failed_at"]
    assert {line.split("\t")[0] for line in lines[1:]} == {str(letter.id) for letter in letters}
    assert any(broken["id"] in line and "does not exist" in line for line in lines[1:])

    code, out, _ = await _cli(env, "dlq", "replay", str(by_type["unparseable"].id))
    assert code == 1
    assert "not a CloudEvent" in out

    async with database.transaction() as session:
        session.add(Account(id=uuid.UUID(broken["data"]["id"]), name="Found", owner="a@b.example"))
    code, out, _ = await _cli(env, "dlq", "replay", str(by_type["account.updated"].id))
    assert code == 0, out
    assert out.strip() == f"replayed {by_type['account.updated'].id}"
    replayed = [
        record
        for record in await consume(kafka_broker.bootstrap, [settings.kafka_topic], expected=5)
        if record.key == broken["data"]["id"].encode()
    ]
    assert [value_of(record) for record in replayed] == [broken]

    async with running(KafkaWorker(database, settings)):
        await wait_applied(database, 3)
    assert broken["id"] in await inbox_event_ids(database)
    after = {letter.id: letter for letter in await dead_letter_rows(database)}
    assert len(after) == 2  # applied this time: no new dead letter
    assert after[by_type["account.updated"].id].replayed_at is not None
    assert after[by_type["unparseable"].id].replayed_at is None


async def test_embedded_replay_puts_the_event_back_into_the_outbox(database: Database) -> None:
    broken = missing_account_event()
    await add_outbox_row(database, broken)
    result = await process_batch(database, holder="test")
    assert result is not None
    assert result.dead_lettered == 1
    [letter] = await dead_letter_rows(database)

    env = cli_env(database.url)
    code, out, _ = await _cli(env, "dlq", "list", "--limit", "5")
    assert code == 0
    [_header, line] = out.strip().splitlines()
    assert line.split("\t")[:3] == [str(letter.id), "account.updated", broken["id"]]
    assert line.split("\t")[-1].endswith(
        f"InvalidEvent: account {broken['data']['id']} does not exist"
    )

    code, out, _ = await _cli(env, "dlq", "replay", "--all")
    assert code == 0, out
    assert out.strip() == f"replayed {letter.id}"
    async with database.read() as session:
        pending = (
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.event_id == broken["id"], OutboxEvent.processed_at.is_(None)
                )
            )
        ).all()
    [row] = pending
    assert (row.event, row.stream, row.partition_key) == (broken, "lifecycle", broken["data"]["id"])
    [again] = await replay(database, Settings(database_url=database.url), [letter.id])
    assert (again.replayed, again.reason) == (False, "already replayed")

    async with database.transaction() as session:
        session.add(Account(id=uuid.UUID(broken["data"]["id"]), name="Found", owner="a@b.example"))
    result = await process_batch(database, holder="test")
    assert result is not None
    assert (result.applied, result.dead_lettered) == (1, 0)
    assert broken["id"] in await inbox_event_ids(database)
    [letter] = await dead_letter_rows(database)
    assert letter.replayed_at is not None
    assert json.loads(json.dumps(letter.event)) == broken
