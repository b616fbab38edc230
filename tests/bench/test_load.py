"""The bench's HTTP load generator counts what a server really answered: every request,
its status, and a connection the server closed (then reopened for the next request)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench import load

OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"
CLOSING = b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers 202 to each request, except that every request whose body is `close`
    gets a 500 and the connection closed."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            body = await reader.readexactly(length)
            writer.write(CLOSING if body == b"close" else OK)
            await writer.drain()
            if body == b"close":
                break
    except asyncio.IncompleteReadError:
        pass
    writer.close()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def _request(index: int) -> bytes:
    body = b"close" if index % 10 == 9 else b"{}"
    return load.request_bytes("/v1/events", body, {"Authorization": "Bearer k"})


async def test_open_loop_sends_every_request_on_schedule_and_reopens_closed_connections(
    port: int,
) -> None:
    answers: list[tuple[int, int]] = []
    outcome = await load.open_loop(
        port,
        _request,
        rate=200,
        seconds=0.5,
        connections=4,
        answered=lambda index, status, _now: answers.append((index, status)),
    )
    assert outcome.answered == 100
    assert outcome.statuses == {202: 90, 500: 10}
    assert sorted(index for index, _ in answers) == list(range(100))
    assert outcome.seconds >= 0.49
    assert 0 <= outcome.percentile(0.5) <= outcome.percentile(0.99)


async def test_closed_loop_keeps_every_connection_busy_until_the_deadline(port: int) -> None:
    outcome = await load.closed_loop(port, _request, connections=3, seconds=0.3)
    assert outcome.answered > 30
    assert set(outcome.statuses) == {202, 500}
    assert outcome.rate == pytest.approx(outcome.answered / outcome.seconds)
