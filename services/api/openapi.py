"""The OpenAPI document lists every error an operation can answer, as problem+json.

FastAPI documents the success response and its own 422 body (`HTTPValidationError`,
`application/json`), which is not what this API sends: every error is RFC 9457
`application/problem+json` (see `errors.py`). `install_openapi` post-processes FastAPI's
document so clients (and the schemathesis fuzz in the suite) see what really happens.

Most errors follow from the shape of the operation, so they are derived here, in one
place, instead of being repeated on every route:

- declares a security requirement (an `Authorization: Bearer` key) → 401 and 403, and
  503 + `Retry-After` when the database is busy or unreachable (every key is checked there);
- has a path parameter (always an entity id) → 404;
- has parameters or a body → 422 naming the field;
- has a body → 400 when it is not UTF-8 text (FastAPI's own answer, before validation);
- can carry a body (any method but GET, HEAD and OPTIONS) → 413 past the size limit;
- POST → 422 for a malformed `Idempotency-Key`; with a key-holder also 409 while the first
  request with the key runs and 422 when the key was used for another request.

What only a service knows (a state conflict, an id in the body that does not exist) the
route declares with `responses=problems(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from shared.problem_details import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

REASONS: dict[int, str] = {
    400: "The body is not decodable (not UTF-8 text)",
    401: "Missing, unknown or revoked API key",
    403: "The API key lacks the scope this operation needs",
    404: "No such entity",
    409: "Conflicts with the entity's current state",
    413: "The body exceeds the size limit",
    422: "Invalid input; `errors` names each field",
    429: "Too many calls with this API key; retry after `Retry-After` seconds",
    503: "Not ready",
}

REFERENCE = "an entity an id in the body refers to does not exist"
DUPLICATE = "an external id already belongs to another entity"

_IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: a repeat after completion replays the stored response for "
        "24 h; the same key with another request is 422, while the first still runs 409. "
        "An answer that carries a secret (`Cache-Control: no-store`) is not kept: its "
        "retry gets 409 `idempotency-answer-not-kept`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


_RETRY_AFTER: dict[str, Any] = {
    "description": "Whole seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}


class FieldError(BaseModel):
    field: str = Field(description="The offending field: `end_date`, `[3].data.arr`, …")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: `type` is stable (`urn:renewals:problem:<slug>`), `detail`
    is for people."""

    type: str = Field(description="urn:renewals:problem:<slug>, stable for clients")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="For invalid input: each offending field"
    )


def problems(*statuses: int, **reasons: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: problem+json answers for the given statuses.

    A reason given as `r409="..."` replaces the generic one for that status."""
    return {
        status: {
            "description": reasons.get(f"r{status}", REASONS[status]),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
        for status in statuses
    }


def _problem_response(reasons: Iterable[str]) -> dict[str, Any]:
    return {
        "description": "; ".join(dict.fromkeys(reasons)),
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }


def _derived_reasons(method: str, operation: dict[str, Any]) -> dict[int, list[str]]:
    """The errors that follow from the operation's shape (see the module docstring)."""
    reasons: dict[int, list[str]] = {}
    parameters = operation.get("parameters", [])
    secured = bool(operation.get("security"))
    if secured:
        reasons[401] = [REASONS[401]]
        reasons[403] = [REASONS[403]]
        reasons[503] = [
            "The database is busy or unreachable, or a query ran past the statement timeout;"
            " retry after `Retry-After` seconds"
        ]
    if any(parameter["in"] == "path" for parameter in parameters):
        reasons[404] = [REASONS[404]]
    if "requestBody" in operation:
        reasons[400] = [REASONS[400]]
    if parameters or "requestBody" in operation:
        reasons[422] = [REASONS[422]]
    if method in _BODY_METHODS:
        reasons[413] = [REASONS[413]]
    if method == "post":
        reasons.setdefault(422, []).append("a malformed Idempotency-Key")
        if secured:
            reasons[422].append("an Idempotency-Key already used for another request")
            reasons.setdefault(409, []).append(
                "the first request with this Idempotency-Key is still running, or its answer"
                " held a secret and is not replayed"
            )
    return reasons


def _document_errors(method: str, operation: dict[str, Any]) -> None:
    """Rewrites the operation's responses: success ones as FastAPI made them, then one
    problem+json response per error status, its description joining every reason."""
    responses: dict[str, Any] = operation.get("responses", {})
    declared: dict[int, list[str]] = {}
    for code, response in responses.items():
        fastapi_default = code == "422" and response.get("description") == "Validation Error"
        if code.isdigit() and int(code) >= 400 and not fastapi_default:
            declared[int(code)] = [response.get("description") or REASONS[int(code)]]
    for status, reasons in _derived_reasons(method, operation).items():
        declared.setdefault(status, []).extend(reasons)
    documented = {
        code: response
        for code, response in responses.items()
        if not (code.isdigit() and int(code) >= 400)
    }
    for status, reasons in sorted(declared.items()):
        documented[str(status)] = _problem_response(reasons)
    if "401" in documented:
        documented["401"]["headers"] = {
            "WWW-Authenticate": {
                "description": "The scheme to authenticate with",
                "schema": {"type": "string", "enum": ["Bearer"]},
            }
        }
    # The database's 503s (on every keyed operation) and 429 say when to retry; a
    # probe's 503 does not.
    for retried in ("429", "503") if operation.get("security") else ("429",):
        if retried in documented:
            documented[retried]["headers"] = {"Retry-After": _RETRY_AFTER}
    operation["responses"] = documented
    if method == "post" and operation.get("security"):
        operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)


def with_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Adds the problem+json responses to every operation of FastAPI's document, in place."""
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _HTTP_METHODS:
                _document_errors(method, operation)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's `HTTPValidationError` describes a 422 body this API never sends.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    return document


def install_openapi(app: FastAPI) -> None:
    """Makes `app.openapi()` (so `/openapi.json` and `/docs`) serve the document with
    every error response. FastAPI builds and caches its document (again when routes
    change); each new one is completed once."""
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)
        if not completed or completed[0] is not document:
            completed[:] = [with_error_responses(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
