"""The FastAPI application: engines are built in the lifespan, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.api.accounts.router import router as accounts_router
from services.api.admin.router import router as admin_router
from services.api.calendar_tokens.router import router as calendar_tokens_router
from services.api.console.mount import mount_console
from services.api.contracts.forecast_router import router as contract_forecast_router
from services.api.contracts.history_router import router as contract_history_router
from services.api.contracts.router import router as contracts_router
from services.api.contracts.trials_router import router as contract_trials_router
from services.api.crm_sync.router import router as crm_sync_router
from services.api.goals.router import router as goals_router
from services.api.idempotency import IdempotencyMiddleware
from services.api.inbound_webhooks.router import inbound_router
from services.api.ingest.router import router as events_router
from services.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from services.api.openapi import install_openapi
from services.api.partners.router import router as partners_router
from services.api.probes.router import metrics_router
from services.api.probes.router import router as health_router
from services.api.problems import install_error_handlers
from services.api.rate_limit import TokenBuckets
from services.api.reports.router import router as reports_router
from services.api.stakeholders.router import router as stakeholders_router
from services.api.tasks.router import router as tasks_router
from services.api.usage.router import router as usage_router
from services.api.views.router import router as views_router
from services.api.webhook_subscriptions.router import router as webhook_subscriptions_router
from shared.config import Settings
from shared.db import Database
from shared.db.engine import API_POOL_SIZE

LARGE_BODY_PATHS = ("/v1/events/batch",)
UNKEYED_BODY_PATHS = ("/v1/webhooks/", "/console/")
"""Not keyed: webhooks are signed by their sender (the route checks the signature over
the body); console forms carry a session cookie and its CSRF token, checked by the page."""


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(
            settings.database_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            pre_ping=False,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            pool_size=API_POOL_SIZE,
            max_overflow=0,
        )
        app.state.draining = False
        try:
            yield
        finally:
            app.state.draining = True
            await app.state.db.dispose()

    app = FastAPI(
        title="Renewal engine",
        version="1.0.0",
        summary="Keeps B2B contracts from being lost at renewal.",
        lifespan=lifespan,
        docs_url="/docs" if settings.public_docs else None,
        redoc_url="/redoc" if settings.public_docs else None,
        openapi_url="/openapi.json" if settings.public_docs else None,
    )
    app.state.settings = settings
    app.state.report_buckets = TokenBuckets(
        settings.report_rate_per_minute, settings.report_rate_burst
    )
    install_error_handlers(app)
    install_openapi(app)
    for router in (
        health_router,
        events_router,
        partners_router,
        accounts_router,
        contracts_router,
        contract_history_router,
        contract_forecast_router,
        contract_trials_router,
        stakeholders_router,
        goals_router,
        usage_router,
        tasks_router,
        reports_router,
        views_router,
        calendar_tokens_router,
        admin_router,
        webhook_subscriptions_router,
        crm_sync_router,
        inbound_router(settings),
    ):
        app.include_router(router)
    mount_console(app)
    if settings.public_metrics:
        app.include_router(metrics_router)
    app.add_middleware(
        IdempotencyMiddleware,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        in_flight_limit=timedelta(seconds=settings.idempotency_in_flight_seconds),
    )
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_body_bytes,
        large_limit=settings.max_batch_body_bytes,
        large_paths=LARGE_BODY_PATHS,
        unkeyed_paths=UNKEYED_BODY_PATHS,
    )
    app.add_middleware(RequestContextMiddleware)
    return app
