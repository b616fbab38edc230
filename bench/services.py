"""The services a benchmark runs against, started the way the tests start them: a fresh
migrated Postgres database per figure, an Apache Kafka broker (tests/support/broker.py), and the
engine's own commands as processes whose peak memory is read from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from shared.db.migrate import upgrade
from shared.secret_box import new_key
from tests.support.broker import Broker, free_port, kafka_jars, start_broker

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


def postgres_url() -> str:
    return os.environ.get("RENEWALS_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(postgres_url()), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def fresh_database(prefix: str = "bench", *, keep: bool = False) -> AsyncIterator[str]:
    """A new database migrated to head; dropped afterwards unless `keep`."""
    async with _database(prefix, "", keep=keep) as url:
        await upgrade(url)
        yield url


@contextlib.asynccontextmanager
async def cloned_database(url: str, prefix: str = "bench") -> AsyncIterator[str]:
    """A copy of the database of `url` (`CREATE DATABASE … TEMPLATE`: a file copy, where
    seeding it again would take minutes), dropped afterwards. Nothing may be connected to
    the original while it is copied."""
    template = make_url(url).database
    async with _database(prefix, f'TEMPLATE "{template}"', keep=False) as copy:
        yield copy


@contextlib.asynccontextmanager
async def _database(prefix: str, clause: str, *, keep: bool) -> AsyncIterator[str]:
    name = f"renewals_{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" {clause}')
    url = make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if not keep:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kafka_version() -> str:
    """The version of the kafka_2.13 jar the brokers run."""
    jar: Path = next(kafka_jars().glob("kafka_2.13-*.jar"))
    return jar.stem.removeprefix("kafka_2.13-")


@contextlib.contextmanager
def broker(workdir: Path) -> Iterator[Broker]:
    running = start_broker(workdir / "broker")
    try:
        yield running
    finally:
        running.stop()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) so far, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Service:
    """A `renewals` command running as its own process."""

    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, wait, and answer the peak RSS read just before the signal."""
        peak = self.peak_rss_mb() if self.process.poll() is None else float("nan")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return peak


def start_service(
    command: list[str],
    env: Mapping[str, str],
    log: Path,
    *,
    port: int | None = None,
) -> Service:
    """Starts `renewals <command>` (see `start_process`)."""
    return start_process([str(Path(sys.executable).parent / "renewals"), *command], env, log, port)


def start_process(
    argv: list[str], env: Mapping[str, str], log: Path, port: int | None = None
) -> Service:
    """Starts `argv` with `env` added to the environment; waits for `port` when given.
    Logs go to `log` (warnings only, to keep logging out of the figures)."""
    full_env = {**os.environ, "RENEWALS_LOG_LEVEL": "WARNING", **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env=full_env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = Service(process=process, log=log, port=port)
    if port is not None:
        try:
            wait_for_port(port, process)
        except RuntimeError:
            service.stop()
            raise RuntimeError(f"{argv} did not start: {log.read_text()[-800:]}") from None
    return service


BENCH_SECRET_KEY = new_key()
"""One key for every process of a bench run: the worker and the API refuse to start in
distributed mode without one, and they must share it."""


def settings_env(database_url: str, **settings: object) -> dict[str, str]:
    """RENEWALS_* variables for a database and any other settings."""
    env = {"RENEWALS_DATABASE_URL": database_url, "RENEWALS_SECRET_KEY": BENCH_SECRET_KEY}
    env.update({f"RENEWALS_{name.upper()}": str(value) for name, value in settings.items()})
    return env


__all__ = [
    "Broker",
    "Service",
    "asyncpg_dsn",
    "broker",
    "cloned_database",
    "free_port",
    "fresh_database",
    "peak_rss_mb",
    "settings_env",
    "start_process",
    "start_service",
    "wait_for_port",
]
