"""`/console/week`: an account manager's open tasks, overdue, this week and next, each
with its playbook and, for a key that may write, the forms that close it."""

from __future__ import annotations

from fastapi import Request, Response

from services.api.console.pages import render
from services.api.console.routing import console_router
from services.api.console.session import Console, ConsoleSession
from services.api.deps import SessionDep, get_settings
from shared.clock import today
from shared.domain.accounts.service import account_owners
from shared.domain.views.week import owner_week

router = console_router()


def _default_owner(signed: ConsoleSession, owners: list[str]) -> str | None:
    """The key's own name when it is an owner's e-mail, else the only owner there is;
    otherwise the page asks."""
    if signed.principal.name in owners:
        return signed.principal.name
    return owners[0] if len(owners) == 1 else None


@router.get("/week")
async def week(request: Request, signed: Console, session: SessionDep) -> Response:
    owners = await account_owners(session)
    owner = (request.query_params.get("owner") or "").strip() or _default_owner(signed, owners)
    tasks = (
        await owner_week(session, owner, today(), get_settings(request).currency) if owner else None
    )
    back = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    return render(
        request,
        "week.html",
        signed,
        section="week",
        owners=owners,
        owner=owner,
        week=tasks,
        back=back,
    )
