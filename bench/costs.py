"""What one event costs the machine while a consumer applies a workload: CPU in the
consumer's process and in the Postgres backends serving it, rows written per table, WAL
written for the database, and bytes on the broker. These are the measured inputs of the
capacity model in docs/scaling.md; `worker_throughput` records them in figure c's
details.

The Postgres server may be shared (the tests' server is), so nothing is read from
server-wide counters alone: backends are those of the run's own database, rows come from
its `pg_stat_user_tables`, and WAL is summed over the records that touch its relations
(`pg_walinspect`, read as the run goes), with the server-wide LSN difference beside it
as an upper bound.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

BACKENDS = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
"""
TABLE_WRITES = "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
ROW_SIZES = """
    SELECT relname, n_live_tup, pg_total_relation_size(relid)
    FROM pg_stat_user_tables WHERE n_live_tup > 0
"""
WAL_OF_DATABASE = """
    SELECT count(*), coalesce(sum(record_length), 0), coalesce(sum(fpi_length), 0)
    FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
    WHERE block_ref LIKE $3
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_or_none(pid: int) -> float | None:
    try:
        return cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


@dataclass
class BackendCpu:
    """CPU of the database's client backends between `start` and the last `sample`. The
    consumer's pool opens and closes connections as it likes, so each `sample` notes the
    backends present: one seen first after `start` counts from zero, one gone before the
    last sample counts up to when it was last seen."""

    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def note(self, pids: Iterable[int], *, starting: bool = False) -> None:
        for pid in pids:
            used = _cpu_or_none(pid)
            if used is None:
                continue
            self.first.setdefault(pid, used if starting else 0.0)
            self.last[pid] = used

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


@dataclass(frozen=True)
class Writes:
    """Rows inserted, updated and deleted per table."""

    tables: dict[str, tuple[int, int, int]]

    def minus(self, before: Writes) -> Writes:
        changed: dict[str, tuple[int, int, int]] = {}
        for name, now in self.tables.items():
            then = before.tables.get(name, (0, 0, 0))
            delta = (now[0] - then[0], now[1] - then[1], now[2] - then[2])
            if any(delta):
                changed[name] = delta
        return Writes(changed)


class PostgresProbe:
    """One connection of its own to the run's database (its backend is left out of the
    CPU counted), which also answers the bench's progress questions so that no other
    bench connection is open while the consumer runs."""

    def __init__(self, connection: Any, database_oid: int) -> None:
        self.connection = connection
        self.database_oid = database_oid
        self.cpu = BackendCpu()
        self.wal: Wal | None = None

    @classmethod
    async def connect(cls, dsn: str) -> PostgresProbe:
        connection = await asyncpg.connect(dsn, timeout=10)
        oid = await connection.fetchval(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        )
        return cls(connection, int(oid))

    async def close(self) -> None:
        await self.connection.close()

    async def sample(self, *, starting: bool = False) -> None:
        self.cpu.note(
            (row["pid"] for row in await self.connection.fetch(BACKENDS)), starting=starting
        )
        await self._scan_wal()

    async def writes(self) -> Writes:
        """Rows written so far; a backend's counts reach `pg_stat_user_tables` when it
        flushes them (at least once a second, and when it exits), so read after the
        consumer stopped."""
        rows = await self.connection.fetch(TABLE_WRITES)
        return Writes({row["relname"]: (row[1], row[2], row[3]) for row in rows})

    async def bytes_per_row(self, tables: Iterable[str]) -> dict[str, float]:
        """On-disk bytes per live row (heap, indexes and TOAST) of these tables: what a
        year of their rows takes (`ANALYZE` first, so the live counts are current)."""
        wanted = set(tables)
        await self.connection.execute("ANALYZE")
        return {
            row[0]: round(row[2] / row[1], 1)
            for row in await self.connection.fetch(ROW_SIZES)
            if row[0] in wanted
        }

    async def start_wal(self) -> None:
        """Starts counting WAL: `sample` then scans what was written since."""
        await self.connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        self.wal = Wal(await self._flushed())

    async def _flushed(self) -> str:
        return str(await self.connection.fetchval("SELECT pg_current_wal_flush_lsn()::text"))

    async def _scan_wal(self) -> None:
        """Adds the records since the last scan. On a busy shared server a checkpoint
        may recycle segments within seconds, so the scan runs at every sample; a gap
        it could not read makes the database's figure unknown."""
        if self.wal is None:
            return
        end = await self._flushed()
        if end == self.wal.at:
            return  # nothing written since; pg_walinspect refuses an empty range
        self.wal.server += int(
            await self.connection.fetchval(
                "SELECT pg_wal_lsn_diff($2::text::pg_lsn, $1::text::pg_lsn)", self.wal.at, end
            )
        )
        if self.wal.complete:
            try:
                records, size, images = await self.connection.fetchrow(
                    WAL_OF_DATABASE, self.wal.at, end, f"%/{self.database_oid}/%"
                )
            except asyncpg.PostgresError as exc:
                print(f"   costs: WAL not counted: {exc}", file=sys.stderr, flush=True)
                self.wal.complete = False
            else:
                self.wal.records += int(records)
                self.wal.database += int(size)
                self.wal.full_page_images += int(images)
        self.wal.at = end


@dataclass
class Wal:
    """WAL written since `start_wal`: `server` everything the server wrote (other
    databases too, an upper bound), `database` the records touching this database's
    relations (without their transactions' commit records), valid while `complete`."""

    at: str
    server: int = 0
    database: int = 0
    records: int = 0
    full_page_images: int = 0
    complete: bool = True


def kafka_log_bytes(data_dir: Path, topic: str) -> int:
    """The size on disk of a topic's log segments (every partition, one replica)."""
    return sum(
        segment.stat().st_size
        for partition in data_dir.glob(f"{topic}-*")
        if partition.name.rpartition("-")[0] == topic
        for segment in partition.glob("*.log")
    )


def per_event(value: float, events: int, digits: int = 3) -> float:
    return round(value / events, digits) if events else float("nan")
