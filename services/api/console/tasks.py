"""Closing a task from a page: done or dismissed, with an outcome, then back to the
page the form was on."""

from __future__ import annotations

import uuid

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from services.api.console.forms import Posted
from services.api.console.routing import console_router
from services.api.console.session import require
from services.api.deps import SessionDep, get_settings
from shared.domain.context import Context
from shared.domain.tasks.schemas import TaskUpdate
from shared.domain.tasks.service import close_task
from shared.enums import Scope

router = console_router()

DEFAULT_BACK = "/console/week"


def safe_back(target: str | None) -> str:
    """Only a console path: a form must not be able to send the browser anywhere else."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return DEFAULT_BACK


@router.post("/tasks/{task_id}")
async def close(
    request: Request, posted: Posted, session: SessionDep, task_id: uuid.UUID
) -> Response:
    signed, form = posted
    require(signed, Scope.WRITE)
    status = form.get("status")
    body = TaskUpdate.model_validate(
        {
            "status": status,
            "outcome": form.text("outcome"),
            # Only a done expansion task records one; a dismissal ignores the field.
            "expected_arr": form.text("expected_arr") if status == "done" else None,
        }
    )
    ctx = Context.now(signed.principal.actor, get_settings(request).currency)
    await close_task(session, ctx, task_id, body)
    return RedirectResponse(safe_back(form.get("back")), status_code=303)
