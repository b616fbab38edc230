"""An HTTP/1.1 load generator on raw keep-alive sockets.

httpx spends more CPU per request than the endpoints under test, and on two shared cores
the client's cost would swamp the comparison; here a request is a prebuilt byte string
and a response is a status line, headers and a Content-Length body. Two shapes:
`closed_loop` (N connections, each sends as its answer arrived: peak throughput)
and `open_loop` (requests scheduled at a fixed rate; latency counts from the scheduled
instant, so a stalled server is not hidden by a client that waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Body = Callable[[int], bytes]


def request_bytes(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Outcome:
    """Latencies in seconds of the answered requests and the statuses seen."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def record(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)


DROPPED = 0
"""The status recorded when the server closed the connection instead of answering."""


class Connection:
    """One keep-alive connection; reopened when the server closes it (a server may close
    after an error answer), the request then counting as `DROPPED`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, port: int) -> Connection:
        connection = cls(port)
        await connection._connect()
        return connection

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def send(self, payload: bytes) -> int:
        """Sends one request and reads its whole answer; returns the status code."""
        try:
            if self.reader is None or self.writer is None:
                await self._connect()
            assert self.reader is not None
            assert self.writer is not None
            return await self._exchange(self.reader, self.writer, payload)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            return DROPPED

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
    ) -> int:
        writer.write(payload)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        closing = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                closing = True
        if length:
            await reader.readexactly(length)
        if closing:
            await self.close()
        return status

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def closed_loop(port: int, make: Body, *, connections: int, seconds: float) -> Outcome:
    """Each connection sends its next request as the previous one is answered."""
    outcome = Outcome()
    pool = [await Connection.open(port) for _ in range(connections)]
    counter = iter(range(10**12))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def drive(connection: Connection) -> None:
        while loop.time() < deadline:
            payload = make(next(counter))
            started = time.perf_counter()
            status = await connection.send(payload)
            outcome.record(status, time.perf_counter() - started)

    started = loop.time()
    try:
        await asyncio.gather(*(drive(connection) for connection in pool))
    finally:
        outcome.seconds = loop.time() - started
        await asyncio.gather(*(connection.close() for connection in pool))
    return outcome


async def open_loop(
    port: int,
    make: Body,
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    answered: Callable[[int, int, float], None] | None = None,
) -> Outcome:
    """Request i is due at start + i/rate; it waits for a free connection if none is, and
    its latency counts from when it was due. `answered(index, status, loop_time)` is called
    as each answer arrives."""
    outcome = Outcome()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    pool = [await Connection.open(port) for _ in range(connections)]
    for connection in pool:
        idle.put_nowait(connection)
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    start = loop.time() + 0.05

    async def one(index: int, due: float) -> None:
        connection = await idle.get()
        try:
            status = await connection.send(make(index))
        finally:
            idle.put_nowait(connection)
        now = loop.time()
        outcome.record(status, now - due)
        if answered is not None:
            answered(index, status, now)

    in_flight: set[asyncio.Task[None]] = set()
    for index in range(total):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(index, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    outcome.seconds = loop.time() - start
    await asyncio.gather(*(connection.close() for connection in pool))
    return outcome
