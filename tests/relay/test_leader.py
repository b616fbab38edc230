"""Exactly one active relay: the advisory lock on Postgres, the lease row on SQLite, and
two real `renewals relay` processes where the standby takes over from a killed leader."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.relay.leader import (
    RELAY_LOCK_KEY,
    AdvisoryLockLeadership,
    LeaseLeadership,
    asyncpg_dsn,
    leadership_for,
)
from shared.db import Database
from tests.relay.helpers import (
    drained,
    id_counts,
    published,
    relay_env,
    relay_settings,
    wait_until,
    write_events,
)
from tests.support.broker import Broker
from tests.support.cli import RENEWALS

pytestmark = pytest.mark.kafka


async def test_one_advisory_lock_holder_at_a_time(postgres_database: Database) -> None:
    first = leadership_for(postgres_database, "a", lease_ttl=timedelta(seconds=2))
    second = AdvisoryLockLeadership(postgres_database.url)
    assert isinstance(first, AdvisoryLockLeadership)
    try:
        assert await first.acquire()
        assert not await second.acquire()
        assert await first.acquire()  # still held
        await first.release()
        assert await second.acquire()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()


async def test_a_dead_holders_lock_goes_to_the_standby(postgres_database: Database) -> None:
    leader = AdvisoryLockLeadership(postgres_database.url)
    standby = AdvisoryLockLeadership(postgres_database.url)
    try:
        assert await leader.acquire()
        assert not await standby.acquire()
        leader._connection.terminate()  # the process died: its session ends

        await wait_until(standby.acquire, timeout=5)
        # The old leader notices its session is gone and does not lead any more.
        assert not await leader.acquire()
    finally:
        await leader.release()
        await standby.release()


async def test_one_lease_holder_at_a_time(database: Database) -> None:
    ttl = timedelta(seconds=2)
    first, second = LeaseLeadership(database, "a", ttl=ttl), LeaseLeadership(database, "b", ttl=ttl)
    assert await first.acquire()
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    assert not await first.acquire()
    await second.release()


@contextmanager
def _relay_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [RENEWALS, "relay"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _log_events(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _published_by(log: Path) -> int:
    return sum(e["published"] for e in _log_events(log) if e["event"] == "batch_published")


async def _published_count(log: Path, expected: int) -> None:
    """The relay logs a batch right after deleting its rows: wait for the line."""

    async def logged() -> bool:
        return _published_by(log) >= expected

    await wait_until(logged, timeout=5)
    assert _published_by(log) == expected


async def _logged(log: Path, event: str, timeout: float = 15) -> None:
    async def seen() -> bool:
        return any(e["event"] == event for e in _log_events(log))

    await wait_until(seen, timeout=timeout, interval=0.1)


async def test_two_relays_one_publishes_and_the_standby_takes_over_when_it_dies(
    postgres_database: Database, kafka_broker: Broker, tmp_path: Path
) -> None:
    db = postgres_database
    settings = relay_settings(db.url, kafka_broker.bootstrap)
    env = relay_env(settings)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    with _relay_process(env, first_log) as first:
        await _logged(first_log, "producer_started")
        with _relay_process(env, second_log) as second:
            await _logged(second_log, "standing_by")
            before = await write_events(db, accounts=3, per_account=3)
            await drained(db)
            await _published_count(first_log, len(before))
            assert _published_by(second_log) == 0

            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            after = await write_events(db, accounts=2, per_account=3)
            await drained(db)
            await _published_count(second_log, len(after))

            # SIGTERM: the standby-turned-leader stops cleanly and frees the lock.
            second.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(second.wait, 15) == 0
            assert any(e["event"] == "relay_stopped" for e in _log_events(second_log))

    records = await published(kafka_broker, settings, expected=len(before) + len(after))
    assert id_counts(records) == dict.fromkeys((w.id for w in before + after), 1)
    connection = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        assert await connection.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY)
    finally:
        await connection.close()
