"""Open operational routes: liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services.api.deps import get_db
from services.api.errors import problem

router = APIRouter(tags=["operations"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Alive: answers without touching any dependency."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, str] | Response:
    if getattr(request.app.state, "draining", False):
        return problem(503, "not-ready", "Not ready", "the process is shutting down")
    try:
        async with get_db(request).read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return problem(503, "not-ready", "Not ready", f"database: {type(exc).__name__}")
    return {"status": "ready", "database": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
