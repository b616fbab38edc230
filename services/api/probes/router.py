"""Open operational routes: liveness, readiness and metrics.

The public `/readyz` says only ready or not: what failed (the database, which broker and
why) tells an outsider what the service depends on, so it goes to the log and to the
ops port (`RENEWALS_API_METRICS_PORT`), which answers with the details. `/metrics` is
left out of the public port with `RENEWALS_PUBLIC_METRICS=false`; the ops port always
serves it."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import get_db, get_settings
from services.api.openapi import problems
from shared.problem_details import PROBLEM_JSON, problem_body
from shared.runtime.kafka import ssl_context
from shared.runtime.probes import readiness

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])
_log = structlog.get_logger("renewals.api")


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Alive: answers without touching any dependency."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses=problems(503))
async def readyz(request: Request) -> dict[str, str] | Response:
    settings = get_settings(request)
    kafka = settings.event_bus == "kafka"
    status, body = await readiness(
        get_db(request),
        draining=getattr(request.app.state, "draining", False),
        bootstrap_servers=settings.kafka_bootstrap_servers if kafka else None,
        broker_ssl=ssl_context(settings) if kafka else None,
    )
    if status != 200:
        _log.warning("not_ready", detail=body["detail"])
        public = problem_body(status, "not-ready", "Not ready", "The service is not ready.")
        return JSONResponse(public, status_code=status, media_type=PROBLEM_JSON)
    return {"status": "ok"}


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
