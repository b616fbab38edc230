"""The demo portfolio served by a real `renewals dev`, with an API key of each scope.

One way to stand it up, shared by the browser tests and `make screenshots`: generate the
portfolio once (`renewals demo --keep`), make the keys with `renewals apikey create`, and
serve the file with `renewals dev` on a free loopback port.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from shared.db import Database
from shared.models import DeadLetter, OutboxEvent
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env, run_cli

DEMO_ACCOUNTS = 60
"""Enough for every chart and table to have rows; generated in about 10 s."""

SCOPES = ("read", "write", "admin")

QUIET = {
    "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
    "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.2",
}
"""No scheduler ticks while a test compares pages with the API."""


@dataclass(frozen=True)
class DemoConsole:
    """`renewals dev` serving the demo portfolio, and a key per scope."""

    base_url: str
    db_url: str
    keys: dict[str, str]

    def client(self, scope: str) -> httpx.Client:
        """A REST client of the served API holding the key of `scope`."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.keys[scope]}"},
            timeout=10,
        )


def _checked(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 0, completed.stderr or completed.stdout
    return completed.stdout


def generate_portfolio(path: Path) -> str:
    """The demo's SQLite file at `path`, with one key of each scope; its database URL."""
    db_url = f"sqlite+aiosqlite:///{path}"
    demo = subprocess.run(
        [RENEWALS, "demo", "--accounts", str(DEMO_ACCOUNTS), "--keep", str(path)],
        env=cli_env(f"sqlite+aiosqlite:///{path.with_suffix('.unused.db')}"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _checked(demo)
    return db_url


def create_keys(db_url: str) -> dict[str, str]:
    return {
        scope: _checked(
            run_cli(db_url, "apikey", "create", "--name", f"console {scope}", "--scopes", scope)
        ).strip()
        for scope in SCOPES
    }


def _wait_until_ready(base_url: str, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "renewals dev exited early"
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"renewals dev was not ready within {timeout} s"
        time.sleep(0.1)


@contextmanager
def demo_console(root: Path) -> Iterator[DemoConsole]:
    """The demo portfolio generated under `root` and served until the block ends; the
    process must stop cleanly on SIGTERM."""
    db_url = generate_portfolio(root / "demo.db")
    keys = create_keys(db_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        [RENEWALS, "dev"],
        env=cli_env(db_url) | QUIET | {"RENEWALS_API_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            _wait_until_ready(base_url, process, timeout=30)
            yield DemoConsole(base_url=base_url, db_url=db_url, keys=keys)
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def _record_dead_letter(db_url: str) -> uuid.UUID:
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            model = await session.scalar(
                select(OutboxEvent)
                .where(OutboxEvent.type == "goal.updated")
                .order_by(OutboxEvent.id.desc())
                .limit(1)
            )
            assert model is not None, "the demo portfolio has no goal.updated event"
            event = dict(model.event) | {"id": str(uuid.uuid4())}
            letter = DeadLetter(
                stream=model.stream,
                event_id=event["id"],
                source=model.source,
                type=model.type,
                event=event,
                error="RuntimeError: the engine raised (recorded by the console tests)",
            )
            session.add(letter)
            await session.flush()
            return letter.id
    finally:
        await db.dispose()


def record_dead_letter(db_url: str) -> uuid.UUID:
    """A dead letter holding a copy (new event id) of the portfolio's latest goal update:
    an event the worker applies without harm once it is replayed."""
    return asyncio.run(_record_dead_letter(db_url))
