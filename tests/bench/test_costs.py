"""The capacity model in docs/scaling.md divides what `bench.costs` counts by the events
of figure c: the rows a consumer wrote and its backends' CPU must be the consumer's own,
never the probe's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bench.costs import PostgresProbe, kafka_log_bytes
from bench.services import asyncpg_dsn

FLUSH_WAIT_SECONDS = 5.0


async def test_the_probe_counts_the_rows_and_cpu_of_other_connections_only(
    postgres_db_url: str,
) -> None:
    dsn = asyncpg_dsn(postgres_db_url)
    probe = await PostgresProbe.connect(dsn)
    consumer = await asyncpg.connect(dsn)
    try:
        await consumer.execute("CREATE TABLE costs_probe (n int)")
        before = await probe.writes()
        await probe.sample(starting=True)
        await consumer.execute("INSERT INTO costs_probe SELECT generate_series(1, 3)")
        await consumer.execute("UPDATE costs_probe SET n = 0 WHERE n = 1")
        await consumer.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")
        await probe.sample()
        assert probe.cpu.seconds > 0
        assert set(probe.cpu.last) == {await consumer.fetchval("SELECT pg_backend_pid()")}
    finally:
        await consumer.close()
    try:
        deadline = asyncio.get_running_loop().time() + FLUSH_WAIT_SECONDS
        written = (await probe.writes()).minus(before)
        while "costs_probe" not in written.tables:
            assert asyncio.get_running_loop().time() < deadline, "no row counts reported"
            await asyncio.sleep(0.1)
            written = (await probe.writes()).minus(before)
        assert written.tables == {"costs_probe": (3, 1, 0)}
    finally:
        await probe.close()


def test_a_topics_log_size_counts_its_own_partitions_only(tmp_path: Path) -> None:
    for directory, size in (("orders-0", 100), ("orders-1", 50), ("orders.dlq-0", 7)):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "00000000000000000000.log").write_bytes(b"x" * size)
        (tmp_path / directory / "00000000000000000000.index").write_bytes(b"x" * 1000)
    assert kafka_log_bytes(tmp_path, "orders") == 150
