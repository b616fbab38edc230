"""Domain errors: each carries the HTTP status and the stable problem `type` it maps to,
so every adapter (the API's problem renderer, the CLI, the worker's dead letters) reports
them the same way. No web framework here: the API renders them (services/api/problems.py).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    type = "conflict"
    title = "Conflict"


class DuplicateExternalId(Conflict):
    type = "duplicate-external-id"
    title = "External id already used"


class InvalidInput(DomainError):
    status = 422
    type = "validation-error"
    title = "Invalid input"


class Unauthorized(DomainError):
    status = 401
    type = "unauthorized"
    title = "Missing or invalid API key"


class Forbidden(DomainError):
    status = 403
    type = "forbidden"
    title = "API key lacks the required scope"


class InputErrors(DomainError):
    """Several invalid fields at once, each as `{"loc": (...), "msg": ...}` like pydantic's
    errors: a CloudEvent's `data` validated against the body of the REST call it stands
    for is reported field by field, as a request body would be."""

    status = 422
    type = "validation-error"
    title = "Invalid input"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field_name(tuple(e['loc']))}: {e['msg']}" for e in errors))


def field_name(loc: tuple[Any, ...]) -> str:
    """`("body", "end_date")` → `end_date`; `("body", 3, "data", "x")` → `[3].data.x`."""
    parts = list(loc[1:] if loc and loc[0] in {"body", "query", "path", "header"} else loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or str(loc[0] if loc else "body")
