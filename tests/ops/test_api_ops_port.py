"""`renewals api` with its ops port (`RENEWALS_API_METRICS_PORT`) and the public port
stripped to the API (`RENEWALS_PUBLIC_DOCS=false`, `RENEWALS_PUBLIC_METRICS=false`): the
public port answers only the API and ok/not-ok, the ops port the metrics and the
details of readiness; both stop on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.ops.processes import image_env, running, scrape, start, value
from tests.support.broker import free_port

pytestmark = pytest.mark.postgres


async def test_the_api_serves_metrics_and_readiness_details_only_on_its_ops_port(
    postgres_db_url: str, tmp_path: Path
) -> None:
    ops_port = free_port()
    env = image_env(
        postgres_db_url,
        api_metrics_port=str(ops_port),
        public_docs="false",
        public_metrics="false",
    )
    api = start("api", env, tmp_path, port_setting="API_PORT")
    ops_url = f"http://127.0.0.1:{ops_port}"
    async with running(api), httpx.AsyncClient(base_url=api.url, timeout=5) as public:
        await api.wait_ready()
        assert (await public.get("/readyz")).json() == {"status": "ok"}
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert (await public.get(path)).status_code == 404, path
        async with httpx.AsyncClient(base_url=ops_url, timeout=5) as ops:
            assert (await ops.get("/readyz")).json() == {"status": "ready", "database": "ok"}
            assert (await ops.get("/livez")).status_code == 200
        metrics = await scrape(ops_url)
        assert value(metrics, "http_requests_total", method="GET", route="/readyz",
                     status="200") >= 1  # fmt: skip
        assert await api.stop() == 0
