"""Liveness, readiness, metrics, request ids, body limits and logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from pydantic import ValidationError

from services.api.app import create_app
from shared.config import LogFormat, Settings
from shared.logging import configure_logging
from shared.models import OutboxEvent, Partner
from shared.problem_details import problem_type
from tests.support.api import Harness, open_harness

PUBLIC_EXTRAS = ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/metrics"]


NOT_READY = {
    "type": problem_type("not-ready"),
    "title": "Not ready",
    "status": 503,
    "detail": "The service is not ready.",
}


async def test_livez_and_readyz_need_no_key_and_readyz_says_only_ok(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        assert (await anonymous.get("/livez")).json() == {"status": "ok"}
        ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


@pytest.mark.usefixtures("json_logs")
async def test_readyz_fails_while_draining_and_only_the_log_says_why(
    api: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    api.app.state.draining = True
    try:
        response = await api.client.get("/readyz")
    finally:
        api.app.state.draining = False
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == NOT_READY
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    reasons = [line["detail"] for line in lines if line.get("event") == "not_ready"]
    assert reasons == ["the process is shutting down"]


async def test_readyz_names_no_dependency_when_the_database_is_gone(tmp_path: Path) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'nowhere.db'}"
    app = create_app(Settings(database_url=missing))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == NOT_READY


async def test_openapi_and_docs_are_open_by_default(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        spec = await anonymous.get("/openapi.json")
        docs = await anonymous.get("/docs")
        redoc = await anonymous.get("/redoc")
    assert spec.status_code == docs.status_code == redoc.status_code == 200
    assert "/v1/partners" in spec.json()["paths"]


async def test_docs_and_metrics_can_be_taken_off_the_public_port(db_url: str) -> None:
    async with open_harness(db_url, public_docs=False, public_metrics=False) as api:
        gone = [await api.client.get(path) for path in PUBLIC_EXTRAS]
        assert (await api.client.get("/v1/partners")).status_code == 200
        assert (await api.client.get("/readyz")).status_code == 200
    assert [answer.status_code for answer in gone] == [404] * len(PUBLIC_EXTRAS)
    async with open_harness(db_url, public_docs=False) as api:
        assert (await api.client.get("/metrics")).status_code == 200
        assert (await api.client.get("/docs")).status_code == 404
    async with open_harness(db_url, public_metrics=False) as api:
        assert (await api.client.get("/metrics")).status_code == 404
        assert (await api.client.get("/openapi.json")).status_code == 200


def test_the_ops_port_cannot_be_the_api_port() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        Settings(api_port=8000, api_metrics_port=8000)


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
