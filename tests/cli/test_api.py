"""`renewals api` serves until SIGTERM, then exits 0 (what a container runtime expects)."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import httpx

from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env


async def test_api_serves_and_exits_0_on_sigterm(db_url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [RENEWALS, "api"],
        env=cli_env(db_url) | {"RENEWALS_API_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ready = None
            for _ in range(200):
                try:
                    ready = await client.get("/readyz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert ready is not None
            assert ready.status_code == 200
            assert (await client.get("/v1/partners")).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
