"""`renewals dev` (what `make run` starts): prints its URLs and first key, serves the API
and the console, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tests.support.api import wait_until_ready
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env


async def test_dev_prints_where_to_go_and_the_first_key_then_exits_0_on_sigterm(
    db_url: str,
) -> None:
    """On SQLite without RENEWALS_SECRET_KEY (as `make run` starts it) a key file is made
    beside the database; Postgres needs the key, as every deployment does."""
    port = free_port()
    sqlite_file = make_url(db_url).database if db_url.startswith("sqlite") else None
    no_key = {"RENEWALS_SECRET_KEY": ""} if sqlite_file else {}
    with subprocess.Popen(
        [RENEWALS, "dev"],
        env=cli_env(db_url) | {"RENEWALS_API_PORT": str(port)} | no_key,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            lines: list[str] = []
            while not any("API key" in line for line in lines):
                line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
                assert line, "renewals dev exited early"
                lines.append(line)
            text = "".join(lines)
            assert f"http://127.0.0.1:{port}/v1" in text
            assert f"http://127.0.0.1:{port}/docs" in text
            assert f"Console  http://127.0.0.1:{port}/console" in text
            key = lines[-1].split()[-1]
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            ) as client:
                await wait_until_ready(client)
                created = await client.post("/v1/partners", json={"name": "P"})
                assert created.status_code == 201
                console = await client.get("/console")
                assert console.status_code == 200
                assert 'name="api_key"' in console.text
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
            if sqlite_file:
                assert Path(f"{sqlite_file}.key").is_file()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
