"""Apache Kafka for tests and the bench (DESIGN §6): a single-node KRaft broker started from
the jars `.ci/kafka-jars` resolves from Maven Central, on free ports of 127.0.0.1, with its
data under the caller's temp dir.

A broker can be paused (SIGSTOP/SIGCONT: an outage in which connections stay open), killed
(SIGKILL) and started again on the same data dir and ports (a crash and recovery). Start-up
is awaited by an ApiVersions round trip on the client listener: the broker enables request
processing only once it has caught up with its metadata.

Register the `kafka_broker` fixture in a `conftest.py` with
`from tests.support.broker import kafka_broker  # noqa: F401`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
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

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
HEAP = "-Xmx512m"

# Single node: every internal topic with one replica; few offsets partitions so the first
# consumer group does not wait for fifty to be created; short sessions allowed (tests use
# 3 s); no delay before the first rebalance.
_SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
"""

_LOG4J2 = """\
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kafka_jars() -> Path:
    """The folder of Apache Kafka's jars, resolved by `.ci/kafka-jars` when not cached yet;
    RuntimeError when Java, Maven or the jars cannot be had."""
    if shutil.which("java") is None:
        raise RuntimeError("no `java` on PATH (Java 17 runs the broker)")
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "kafka-jars")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f".ci/kafka-jars failed: {result.stderr.strip()[-500:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def api_versions(port: int, timeout: float = 1.0) -> bool:
    """One ApiVersions (v0) round trip: True when the broker answers without an error."""
    client = b"renewals-tests"
    header = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(header)) + header)
            size = struct.unpack(">i", _read(sock, 4))[0]
            correlation, error = struct.unpack(">ih", _read(sock, size)[:6])
    except (OSError, struct.error):
        return False
    return correlation == 7 and error == 0


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


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
    """An Apache Kafka broker process with its own data dir and ports."""

    workdir: Path
    jars: Path
    port: int
    controller_port: int
    process: subprocess.Popen[bytes] | None = None
    paused: bool = field(default=False)
    starts: int = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the broker is not running"
        return self.process.pid

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def log(self) -> Path:
        return self.workdir / "broker.log"

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            HEAP,
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{self.jars}/*",
            main,
            *args,
        ]

    def _format(self) -> None:
        """A fresh log dir: the storage tool writes the cluster id and bootstrap metadata."""
        properties = self.workdir / "server.properties"
        properties.write_text(
            _SERVER_PROPERTIES.format(
                port=self.port, controller_port=self.controller_port, data=self.data
            )
        )
        (self.workdir / "log4j2.properties").write_text(_LOG4J2)
        # Kafka's own id format (22 URL-safe base64 characters); one starting with "-" would
        # be read by the storage tool's argument parser as an option, so the first
        # character is kept alphanumeric.
        cluster_id = "k" + base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()[1:]
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting {self.data} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        """Starts the broker (formatting its data dir the first time) and returns once it
        answers ApiVersions; RuntimeError when it exits or does not answer in time."""
        if not (self.data / "meta.properties").exists():
            self._format()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(self.workdir / "server.properties")),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while not api_versions(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                tail = self.log.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"broker on port {self.port} did not start: {tail}")
            time.sleep(0.1)

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

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed beyond what the OS already holds."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        self.paused = False

    def restart(self) -> None:
        """Killed, then started again on the same data dir and ports."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """The data dir is thrown away with the test's temp dir, so a kill is enough."""
        self.kill()


def start_broker(workdir: Path, port: int | None = None) -> Broker:
    """A broker of its own in `workdir`, started; RuntimeError when Java, Maven or the
    jars are missing or the broker does not come up."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(workdir / "data", ignore_errors=True)
    broker = Broker(
        workdir=workdir,
        jars=kafka_jars(),
        port=port or free_port(),
        controller_port=free_port(),
    )
    broker.start()
    return broker


def broker_or_unavailable(workdir: Path, port: int | None = None) -> Broker:
    """`start_broker`, skipping locally (failing in CI) when Apache Kafka cannot run."""
    try:
        return start_broker(workdir, port)
    except RuntimeError as exc:
        unavailable("Apache Kafka", str(exc))


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One broker per test session (per xdist worker); killed at the end."""
    broker = broker_or_unavailable(Path(tmp_path_factory.mktemp("broker")))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker for one test that pauses, kills or restarts it."""
    broker = broker_or_unavailable(tmp_path / "broker")
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


def main() -> None:
    """`python -m tests.support.broker --port 9092`: a broker for a local try of the
    distributed mode, in the foreground until Ctrl-C."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=9092)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="renewals-kafka-") as workdir:
        broker = start_broker(Path(workdir), port=args.port)
        print(f"Apache Kafka on {broker.bootstrap} (data in {workdir}); Ctrl-C stops it")  # noqa: T201
        try:
            assert broker.process is not None
            broker.process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
