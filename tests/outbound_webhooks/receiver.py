"""A real HTTP endpoint on 127.0.0.1 that records what it receives and answers from a
script: the receiving end of outbound webhooks, without any web framework."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    """Seconds to wait before answering (an endpoint that hangs)."""


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    """`time.monotonic()` when the request arrived."""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, if the signature verifies with `secret` (raises otherwise)."""
        payload = Webhook(secret).verify(self.body, self.headers)
        assert isinstance(payload, dict)
        return payload


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Reply] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/renewals"

    def answer(self, *replies: Reply) -> None:
        """The next requests get these replies, in order; later ones get 200."""
        self.script.extend(replies)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readline()  # the request line
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(headers, body, time.monotonic()))
            reply = self.script.pop(0) if self.script else Reply()
            if reply.delay:
                await asyncio.sleep(reply.delay)
            head = [f"HTTP/1.1 {reply.status} Status", f"Content-Length: {len(reply.body)}"]
            head += [f"{name}: {value}" for name, value in reply.headers.items()]
            head.append("Connection: close")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # stopped mid-reply: a normal end for a test server
            pass
        finally:
            writer.close()
            self._handlers.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Returns once `count` requests arrived; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.received)} of {count} requests arrived in {timeout} s"
            )
            await asyncio.sleep(0.01)
        return list(self.received)
