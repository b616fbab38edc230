"""`/console/operations`, for admins: what the pipeline could not do and is waiting for a
person, with the same retries the CLI and the REST API offer, and how far behind the
event pipeline is (shared.domain.operations.backlog says what the numbers mean).

Every action is a POST carrying the session's CSRF token; it redirects back to the page
with a message naming what happened (post/redirect/get, so a reload repeats nothing);
an action that cannot be done answers with an error page instead."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from services.api.console.forms import Posted
from services.api.console.pages import render
from services.api.console.routing import console_router
from services.api.console.session import Console, ConsoleSession, Refused, require
from services.api.deps import SessionDep, get_settings
from shared.clock import utcnow
from shared.domain.crm_sync.syncs import retry_syncs
from shared.domain.dead_letters.replay import replay_one
from shared.domain.dead_letters.service import list_dead_letters
from shared.domain.operations.backlog import outbox_backlog, worker_lag
from shared.domain.operations.failures import failed_deliveries, failed_syncs
from shared.domain.webhook_subscriptions.service import redeliver
from shared.enums import Scope

router = console_router()

PATH = "/console/operations"
SHOWN = 50
"""Rows per list: the oldest dead letters and the newest failures, the rest in the API."""

MESSAGES = {
    "replayed": "Dead letter {id} replayed: its event is back with the worker.",
    "redelivered": "Delivery {id} is due again and goes out shortly.",
    "retried": "The CRM syncs of task {id} are due again.",
}


def _admin(signed: ConsoleSession) -> None:
    require(signed, Scope.ADMIN)


def _back(message: str, item: uuid.UUID) -> Response:
    query = urlencode({"done": message, "id": str(item)})
    return RedirectResponse(f"{PATH}?{query}", status_code=303)


def _notice(request: Request) -> str | None:
    """The message of the action that redirected here: fixed words and a parsed id, so a
    crafted link cannot put text of its choosing on the page."""
    template = MESSAGES.get(request.query_params.get("done", ""))
    try:
        item = uuid.UUID(request.query_params.get("id", ""))
    except ValueError:
        return None
    return None if template is None else template.format(id=item)


@router.get("/operations")
async def operations(request: Request, signed: Console, session: SessionDep) -> Response:
    _admin(signed)
    settings = get_settings(request)
    now = utcnow()
    letters, _ = await list_dead_letters(session, replayed=False, limit=SHOWN, cursor=None)
    window = timedelta(days=settings.event_retention_days)
    return render(
        request,
        "operations.html",
        signed,
        section="operations",
        notice=_notice(request),
        now=now,
        event_bus=settings.event_bus,
        letters=letters,
        deliveries=await failed_deliveries(session, limit=SHOWN),
        syncs=await failed_syncs(session, limit=SHOWN),
        backlog=await outbox_backlog(session),
        lag=await worker_lag(session, now=now, window=window),
        window_days=settings.event_retention_days,
    )


@router.post("/operations/dead-letters/{letter_id}/replay")
async def replay_dead_letter(
    request: Request, posted: Posted, session: SessionDep, letter_id: uuid.UUID
) -> Response:
    _admin(posted[0])
    result = await replay_one(session, get_settings(request), letter_id)
    if not result.replayed:
        raise Refused(409, "Not replayed", f"dead letter {letter_id}: {result.reason}")
    return _back("replayed", letter_id)


@router.post("/operations/deliveries/{subscription_id}/{delivery_id}/redeliver")
async def redeliver_delivery(
    request: Request,
    posted: Posted,
    session: SessionDep,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> Response:
    _admin(posted[0])
    await redeliver(session, get_settings(request), subscription_id, delivery_id)
    return _back("redelivered", delivery_id)


@router.post("/operations/crm-syncs/{task_id}/retry")
async def retry_crm_sync(
    request: Request, posted: Posted, session: SessionDep, task_id: uuid.UUID
) -> Response:
    _admin(posted[0])
    window = timedelta(seconds=get_settings(request).webhooks_retry_window_seconds)
    await retry_syncs(session, task_id, now=utcnow(), retry_window=window)
    return _back("retried", task_id)
