"""What became of one CRM change (a HubSpot event, a Salesforce notification): applied,
or why not — the sender is told so it does not retry changes that can never apply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.errors import DomainError


class Ignored(Exception):
    """The change is valid but changes nothing here; `reason` is reported back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _rejection(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "rejected: " + "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'value'}: {err['msg']}" for err in exc.errors()
        )
    detail = exc.detail if isinstance(exc, DomainError) else str(exc)
    return f"rejected: {detail}"


async def apply_one(session: AsyncSession, apply: Callable[[], Awaitable[None]]) -> str | None:
    """Runs `apply` in a savepoint; returns why it changed nothing, or None. A change a
    service refuses is rolled back alone and reported, so it does not undo the others of
    its delivery. ValueError covers the value parsers, id checks and pydantic's
    ValidationError."""
    try:
        async with session.begin_nested():
            await apply()
    except Ignored as exc:
        return exc.reason
    except (DomainError, ValueError) as exc:
        return _rejection(exc)
    return None
