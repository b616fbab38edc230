"""The image's entry commands as real processes: `renewals <command>` with an environment
like the container's, its stderr (the JSON logs) kept in a file, its HTTP port probed,
stopped with SIGTERM as Docker and Kubernetes stop it; and Prometheus text read with
prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.support.broker import free_port
from tests.support.cli import RENEWALS

PLANTED_INBOUND_SECRET = "whsec_" + base64.b64encode(b"planted-inbound-secret-4f1c").decode()
PLANTED_HUBSPOT_SECRET = "planted-hubspot-secret-9b2e"
PLANTED_DB_PASSWORD = "planted-db-password-77aa"
"""Postgres trusts 127.0.0.1 in tests, so a password in the URL is accepted and ignored:
it stands for the real one, which must never reach a log line."""


def with_password(db_url: str) -> str:
    return make_url(db_url).set(password=PLANTED_DB_PASSWORD).render_as_string(hide_password=False)


def image_env(db_url: str, **settings: str) -> dict[str, str]:
    """The environment of a container of the image (JSON logs, every process's port on
    the loopback here) with the planted secrets and these settings (`event_bus="kafka"`
    -> RENEWALS_EVENT_BUS)."""
    base = {
        "RENEWALS_DATABASE_URL": with_password(db_url),
        "RENEWALS_LOG_FORMAT": "json",
        "RENEWALS_LOG_LEVEL": "INFO",
        "RENEWALS_INBOUND_GENERIC_SECRETS": PLANTED_INBOUND_SECRET,
        "RENEWALS_HUBSPOT_CLIENT_SECRET": PLANTED_HUBSPOT_SECRET,
        "RENEWALS_PUBLIC_BASE_URL": "https://renewals.example.com",
    }
    return os.environ | base | {f"RENEWALS_{k.upper()}": v for k, v in settings.items()}


def planted_secrets() -> list[str]:
    return [PLANTED_INBOUND_SECRET, PLANTED_HUBSPOT_SECRET, PLANTED_DB_PASSWORD]


@dataclass
class Process:
    """A running `renewals <command>`; `url` is its HTTP port (API or health/metrics)."""

    command: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, timeout: float = 30) -> None:
        """Until `/livez` and `/readyz` answer 200 (fails if the process exits first)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while True:
                assert self.popen.poll() is None, f"{self.command} exited: {self.tail()}"
                try:
                    live = await client.get("/livez")
                    ready = await client.get("/readyz")
                    if live.status_code == ready.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert loop.time() < deadline, f"{self.command} not ready: {self.tail()}"
                await asyncio.sleep(0.1)

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.popen.wait, timeout)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def log_events(self) -> list[dict[str, Any]]:
        """Every stderr line as JSON (a line that is not JSON fails the caller)."""
        return [json.loads(line) for line in self.log_lines()]


def start(command: str, env: dict[str, str], logs: Path, *, port_setting: str) -> Process:
    """`renewals <command>` with its HTTP port (`port_setting`, e.g. API_PORT) on a free
    port of the loopback; stdout is dropped, stderr (the logs) kept."""
    port = free_port()
    log = logs / f"{command}-{port}.log"
    with log.open("wb") as err:
        popen = subprocess.Popen(
            [RENEWALS, command],
            env=env | {f"RENEWALS_{port_setting}": str(port), "RENEWALS_API_HOST": "127.0.0.1"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return Process(command, popen, log, port)


@asynccontextmanager
async def running(*processes: Process) -> AsyncIterator[None]:
    """The processes killed at the end if a test left them running."""
    try:
        yield
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.kill()
                await asyncio.to_thread(process.popen.wait, 10)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    """`/metrics` parsed by prometheus-client's parser: (sample name, labels) -> value."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
