"""Liveness, readiness, metrics, request ids, body limits and logs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from shared.config import LogFormat
from shared.logging import configure_logging
from shared.models import OutboxEvent, Partner
from tests.support.api import Harness


async def test_livez_and_readyz_need_no_key(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        assert (await anonymous.get("/livez")).json() == {"status": "ok"}
        ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_readyz_fails_while_draining(api: Harness) -> None:
    api.app.state.draining = True
    try:
        response = await api.client.get("/readyz")
    finally:
        api.app.state.draining = False
    assert response.status_code == 503


async def test_openapi_and_docs_are_open(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        spec = await anonymous.get("/openapi.json")
        docs = await anonymous.get("/docs")
    assert spec.status_code == docs.status_code == 200
    assert "/v1/partners" in spec.json()["paths"]


async def test_request_id_is_echoed_or_generated(api: Harness) -> None:
    given = await api.client.get("/v1/partners", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await api.client.get("/v1/partners")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await api.client.get("/v1/partners", headers={"X-Request-ID": "a b;<x>"})
    assert hostile.headers["x-request-id"] != "a b;<x>"


async def test_every_answer_forbids_content_sniffing(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        answers = [
            await api.client.get("/v1/partners"),
            await anonymous.get("/v1/partners"),
            await api.client.get("/no/such/route"),
            await anonymous.get("/docs"),
            await anonymous.get("/metrics"),
        ]
    assert [answer.status_code for answer in answers] == [200, 401, 404, 200, 200]
    assert {answer.headers["x-content-type-options"] for answer in answers} == {"nosniff"}


async def test_metrics_count_requests_by_route_template(api: Harness) -> None:
    partner = (await api.client.post("/v1/partners", json={"name": "P"})).json()
    await api.client.get(f"/v1/partners/{partner['id']}")
    text = (await api.client.get("/metrics")).text
    assert 'route="/v1/partners/{partner_id}"' in text
    assert partner["id"] not in text
    assert "http_request_duration_seconds_bucket" in text


async def test_a_body_over_one_mebibyte_is_413_and_writes_nothing(api: Harness) -> None:
    body = json.dumps({"name": "x" * (1024 * 1024)})
    response = await api.client.post(
        "/v1/partners", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert await api.count(Partner) == 0
    assert await api.count(OutboxEvent) == 0


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """JSON logs into the captured stderr, and structlog's defaults back afterwards."""
    configure_logging(LogFormat.JSON)
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("json_logs")
async def test_logs_are_json_with_request_ids_and_never_the_key(
    api: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    key = await api.new_key("read,write")
    async with api.as_key(key) as client:
        await client.post("/v1/partners", json={"name": "P"}, headers={"X-Request-ID": "rid-1"})
    err = capsys.readouterr().err
    assert key not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines
    assert request_lines[-1]["request_id"] == "rid-1"
    assert request_lines[-1]["route"] == "/v1/partners"
    assert "timestamp" in request_lines[-1]
