"""`renewals tick` as a real process against a fresh database file or Postgres database."""

from __future__ import annotations

import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from shared.clock import utcnow
from shared.db import Database
from shared.models import Checkpoint, WorkerLease
from shared.runtime import lease
from tests.renewal_worker.helpers import add_checkpoint, outbox, wait_until
from tests.support.cli import RENEWALS, cli_env, run_cli
from tests.support.factories import make_account, make_contract


def _tick(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(db_url, "tick", *args)


async def _due_checkpoints(db_url: str, count: int) -> None:
    db = Database(db_url)
    try:
        account = await make_account(db)
        contract = await make_contract(db, account)
        for n in range(count):
            await add_checkpoint(db, contract, f"kind_{n}", date(2026, 3, 10))
        await add_checkpoint(db, contract, "later", date(2026, 9, 1))
    finally:
        await db.dispose()


async def test_tick_prints_how_many_checkpoints_it_opened(db_url: str) -> None:
    await _due_checkpoints(db_url, 3)

    done = _tick(db_url, "--as-of", "2026-03-15")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["opened 3 checkpoints"]
    again = _tick(db_url, "--as-of", "2026-03-15")
    assert again.stdout.splitlines() == ["opened 0 checkpoints"]
    db = Database(db_url)
    try:
        rows = await outbox(db)
        assert [row.event["time"] for row in rows] == ["2026-03-15T00:00:00+00:00"] * 3
        assert all(row.processed_at is None for row in rows)  # nobody applied them
    finally:
        await db.dispose()


async def test_tick_wait_applies_the_events_itself_when_no_worker_runs(db_url: str) -> None:
    await _due_checkpoints(db_url, 2)

    done = _tick(db_url, "--as-of", "2026-03-15", "--wait", "--timeout", "30")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "opened 2 checkpoints"
    db = Database(db_url)
    try:
        rows = await outbox(db, "lifecycle")
        assert len(rows) == 2
        assert all(row.processed_at is not None for row in rows)
        async with db.read() as session:
            assert (await session.scalars(select(WorkerLease))).all() == []  # released
            statuses = (await session.scalars(select(Checkpoint.status))).all()
        assert sorted(statuses) == ["opened", "opened", "planned"]
    finally:
        await db.dispose()


async def test_tick_wait_leaves_the_events_to_the_running_worker(db_url: str) -> None:
    """`renewals worker` holds the lease and applies the events; tick only waits. On
    SIGTERM the worker finishes, releases the lease and exits 0."""
    await _due_checkpoints(db_url, 2)
    worker = subprocess.Popen(
        [RENEWALS, "worker"],
        env=cli_env(db_url) | {"RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = Database(db_url)
    try:
        await wait_until(lambda: _held_by_worker(db), timeout=20, interval=0.05)

        done = _tick(db_url, "--as-of", "2026-03-15", "--wait", "--timeout", "30")

        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["opened 2 checkpoints", "applied 2 events"]
        assert all(row.processed_at is not None for row in await outbox(db))
        assert await _held_by_worker(db)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=15)
        assert worker.returncode == 0, stderr
        async with db.read() as session:
            assert await lease.lease_holder(session, lease.LIFECYCLE) is None
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        await db.dispose()


async def _held_by_worker(db: Database) -> bool:
    async with db.read() as session:
        holder = await lease.lease_holder(session, lease.LIFECYCLE)
    return holder is not None and holder.startswith("worker@")


async def test_tick_wait_times_out_while_another_live_worker_holds_the_lease(
    db_url: str,
) -> None:
    await _due_checkpoints(db_url, 1)
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            session.add(
                WorkerLease(
                    name="lifecycle",
                    holder="stuck-worker",
                    expires_at=utcnow() + timedelta(hours=1),
                )
            )

        done = _tick(db_url, "--as-of", "2026-03-15", "--wait", "--timeout", "0.5")

        assert done.returncode == 1
        assert done.stdout.splitlines() == ["opened 1 checkpoint"]
        assert "timed out after 0.5 s: 1 of 1 events not applied yet" in done.stderr
        assert "stuck-worker" in done.stderr
        assert [row.processed_at for row in await outbox(db)] == [None]
    finally:
        await db.dispose()


def test_tick_rejects_a_malformed_date(tmp_path: Path) -> None:
    done = _tick(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", "--as-of", "15/03/2026")
    assert done.returncode == 2
    assert "not a date (YYYY-MM-DD)" in done.stderr


def test_tick_wait_is_refused_on_the_kafka_bus(db_url: str) -> None:
    done = subprocess.run(
        [RENEWALS, "tick", "--as-of", "2026-03-15", "--wait"],
        env=cli_env(db_url) | {"RENEWALS_EVENT_BUS": "kafka"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--wait" in done.stderr
