"""The demo portfolio served by a real `renewals dev`, with an API key of each scope.

One way to stand it up, shared by the browser tests and `make screenshots`: generate the
portfolio once (`renewals demo --keep`), make the keys with `renewals apikey create`, and
serve the file with `renewals dev` on a free loopback port.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from shared.db import Database
from shared.models import DeadLetter, OutboxEvent
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env

DEMO_ACCOUNTS = 60
"""Enough for every chart and table to have rows; generated in about 10 s."""

SCOPES = {"read": "read", "write": "read,write", "admin": "admin"}
"""The keys made, by the scope they add: the console signs in only keys that can read."""

QUIET = {
    "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
    "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.2",
}
"""No scheduler ticks while a test compares pages with the API."""


@dataclass(frozen=True)
class Portfolio:
    """The demo's SQLite file and the keys made in it, by scope."""

    path: Path
    keys: dict[str, str]

    @property
    def db_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    def save_keys(self) -> None:
        self.path.with_suffix(".keys.json").write_text(json.dumps(self.keys))

    @classmethod
    def saved(cls, path: Path) -> Portfolio:
        return cls(path, json.loads(path.with_suffix(".keys.json").read_text()))


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


def generate_portfolio(path: Path) -> Portfolio:
    """The demo's SQLite file at `path` (the demo never touches RENEWALS_DATABASE_URL's
    database, so that points elsewhere) with a key of each scope."""
    demo = subprocess.run(
        [RENEWALS, "demo", "--accounts", str(DEMO_ACCOUNTS), "--keep", str(path)],
        env=cli_env(f"sqlite+aiosqlite:///{path.with_suffix('.unused.db')}"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr or demo.stdout
    db_url = f"sqlite+aiosqlite:///{path}"
    return Portfolio(path, create_keys(db_url))


def create_keys(db_url: str) -> dict[str, str]:
    """A key per scope, made by `renewals apikey create` processes run side by side."""
    processes = {
        scope: subprocess.Popen(
            [RENEWALS, "apikey", "create", "--name", f"console {scope}", "--scopes", scopes],
            env=cli_env(db_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for scope, scopes in SCOPES.items()
    }
    keys = {}
    for scope, process in processes.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err or out
        keys[scope] = out.strip()
    return keys


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


def copy_portfolio(source: Portfolio, target: Path) -> Portfolio:
    for suffix in ("", "-wal"):
        if Path(f"{source.path}{suffix}").exists():
            shutil.copyfile(f"{source.path}{suffix}", f"{target}{suffix}")
    return Portfolio(target, source.keys)


@contextmanager
def demo_console(root: Path, portfolio: Portfolio | None = None) -> Iterator[DemoConsole]:
    """The demo portfolio served from `root` until the block ends: a copy of `portfolio`
    when given (generated once for several test processes), else generated there. The
    process must stop cleanly on SIGTERM."""
    if portfolio is None:
        served = generate_portfolio(root / "demo.db")
    else:
        served = copy_portfolio(portfolio, root / "demo.db")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        [RENEWALS, "dev"],
        env=cli_env(served.db_url) | QUIET | {"RENEWALS_API_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            _wait_until_ready(base_url, process, timeout=30)
            yield DemoConsole(base_url=base_url, db_url=served.db_url, keys=served.keys)
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
    an event the worker applies without harm once it is replayed. Written from a thread of
    its own: Playwright's sync API keeps an event loop running in the test's thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _record_dead_letter(db_url)).result(timeout=30)
