"""A client without a key costs the API no body: it gets 401 before the body is read."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.support.api import Harness, serve_api

TEN_MIB = 10 * 1024 * 1024


def _kib(pid: int, field: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def _batch_of(size: int) -> bytes:
    """A JSON array of small events just under `size` bytes: the costliest body to parse."""
    one = json.dumps({"specversion": "1.0", "type": "partner.created", "data": {"n": 0}})
    count = (size - 2) // (len(one) + 1)
    return ("[" + ",".join([one] * count) + "]").encode()


@pytest.mark.postgres
async def test_unauthenticated_ten_mebibyte_posts_get_401_without_the_api_growing(
    postgres_db_url: str, tmp_path: Path
) -> None:
    body = _batch_of(TEN_MIB)
    async with serve_api(postgres_db_url, tmp_path) as served:
        pid = served.process.popen.pid
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        before = _kib(pid, "VmRSS")
        async with served.client(key="", timeout=30) as anonymous:
            responses = await asyncio.gather(
                *(
                    anonymous.post(
                        "/v1/events/batch",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    for _ in range(20)
                )
            )
        peak = _kib(pid, "VmHWM")
    assert [r.status_code for r in responses] == [401] * 20
    assert (peak - before) / 1024 < 50


async def test_a_read_only_key_gets_the_default_limit_on_the_batch_route(api: Harness) -> None:
    async with api.as_key(await api.new_key("read")) as reader:
        response = await reader.post(
            "/v1/events/batch",
            content=_batch_of(2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413


async def test_a_wrong_key_gets_401_before_its_oversize_body_is_refused(api: Harness) -> None:
    async with api.as_key("rnw_not-a-key") as stranger:
        response = await stranger.post(
            "/v1/partners", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "text/plain"}
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_signed_webhook_deliveries_need_no_key_and_keep_the_one_mebibyte_cap(
    api: Harness,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://test"
    ) as anonymous:
        response = await anonymous.post(
            "/v1/webhooks/generic",
            content=b"x" * (1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
