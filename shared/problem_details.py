"""RFC 9457 problem details as plain data: the API (services/api/problems.py) and the ops
port of the worker and the relay (shared/runtime/ops_server.py) answer errors in the
same shape, and neither needs the other's web stack for it."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"


def problem_type(slug: str) -> str:
    return f"urn:renewals:problem:{slug}"


def problem_body(
    status: int, slug: str, title: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body
