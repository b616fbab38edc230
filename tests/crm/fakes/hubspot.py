"""A fake HubSpot portal: a real HTTP server (FastAPI served by uvicorn on 127.0.0.1, in a
thread) implementing the endpoints the connector uses, as HubSpot documents them.

Endpoints: tasks create / update / search (`/crm/v3/objects/tasks...`), owners
(`/crm/v3/owners/`), a property's definition (`/crm/v3/properties/tasks/{name}`) and a
private app token's scopes (`/oauth/v2/private-apps/get/access-token-info`).

It enforces what a portal enforces: the bearer token (401), request bodies shaped like
the request schemas of HubSpot's published OpenAPI description of the tasks API
(`SimplePublicObjectInputForCreate` — `associations` required, even empty —,
`SimplePublicObjectInput`, `PublicObjectSearchRequest` with its required `after`,
`filterGroups`, `limit`, `properties` and `sorts`; github.com/HubSpot/
HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/Tasks/Rollouts/424/v3/tasks.json at
commit 9989379). The file itself is not vendored: its README says the specifications are
proprietary and not licensed for external use, so the shapes are transcribed here, and
unknown fields are refused (the fake cannot tell which ones HubSpot would ignore). One
deliberate difference: the description types `sorts` as strings, while HubSpot's search
guide sends `{"propertyName", "direction"}` objects; both are accepted. Also enforced:
known property names and enumeration values, owners and association targets that exist,
HubSpot-defined association type ids (task→company 192, task→deal 216). And what tests
need to go wrong: a rate limit (429 with `Retry-After` and the `X-HubSpot-RateLimit-*`
headers), a `down` switch (503) or a stopped server (connection refused), and
`hang_after_create` — the task is stored, then the answer never comes (the syncer dies,
or times out, between HubSpot's 201 and its own commit).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
ALL_SCOPES = ["crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.owners.read"]
TASK_ID_PROPERTY = "renewals_task_id"
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
BUILT_IN = {
    "hs_task_subject",
    "hs_task_body",
    "hs_timestamp",
    "hs_task_priority",
    "hs_task_status",
    "hs_task_type",
    "hubspot_owner_id",
}
ENUMS = {
    "hs_task_priority": {"NONE", "LOW", "MEDIUM", "HIGH"},
    "hs_task_status": {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"},
    "hs_task_type": {"TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING", "LINKEDIN_SALES_NAVIGATOR"},
}
ASSOCIATION_TARGETS = {192: "companies", 216: "deals"}


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectId(_Shape):
    id: str


class AssociationSpec(_Shape):
    associationCategory: Literal["HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK"]
    associationTypeId: int


class Association(_Shape):
    to: ObjectId
    types: list[AssociationSpec] = Field(min_length=1)


class CreateInput(_Shape):
    properties: dict[str, str]
    associations: list[Association]


class UpdateInput(_Shape):
    properties: dict[str, str]


class Filter(_Shape):
    propertyName: str
    operator: Literal[
        "BETWEEN",
        "CONTAINS_TOKEN",
        "EQ",
        "GT",
        "GTE",
        "HAS_PROPERTY",
        "IN",
        "LT",
        "LTE",
        "NEQ",
        "NOT_CONTAINS_TOKEN",
        "NOT_HAS_PROPERTY",
        "NOT_IN",
    ]
    value: str | None = None
    values: list[str] | None = None
    highValue: str | None = None


class FilterGroup(_Shape):
    filters: list[Filter] = Field(max_length=6)


class Sort(_Shape):
    propertyName: str
    direction: Literal["ASCENDING", "DESCENDING"]


class SearchRequest(_Shape):
    after: str
    filterGroups: list[FilterGroup] = Field(max_length=6)
    limit: int = Field(ge=1, le=200)
    properties: list[str]
    sorts: list[Sort | str]
    query: str | None = Field(default=None, max_length=3000)


class TokenInfoRequest(_Shape):
    tokenKey: str


def _now_text() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _millis(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": "fake", "category": category}
    return JSONResponse(body | extra, status_code=status)


class FakeHubSpot:
    """One portal. Tests read `tasks` and `requests`, and flip the switches."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.scopes = list(ALL_SCOPES)
        self.has_task_id_property = True
        self.tasks: dict[str, dict[str, Any]] = {}
        """HubSpot id -> {"properties": {...}, "associations": [(type id, target id)]}."""
        self.owners: dict[str, str] = {}
        """e-mail -> owner id."""
        self.companies: set[str] = set()
        self.deals: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.down = False
        self.hang_after_create = False
        self.rate_limit: tuple[int, float] | None = None
        """(calls, seconds): more calls than that in a rolling window get a 429."""
        self.retry_after_seconds = 1
        self._calls: list[float] = []
        self._ids = itertools.count(50_000_001)
        self._lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build()

    # -- set-up -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_owner(self, email: str) -> str:
        owner_id = str(next(self._ids))
        self.owners[email.lower()] = owner_id
        return owner_id

    def add_company(self) -> str:
        company = str(next(self._ids))
        self.companies.add(company)
        return company

    def add_deal(self) -> str:
        deal = str(next(self._ids))
        self.deals.add(deal)
        return deal

    def complete(self, hubspot_id: str) -> None:
        """A user completes the task in HubSpot."""
        with self._lock:
            properties = self.tasks[hubspot_id]["properties"]
            properties["hs_task_status"] = "COMPLETED"
            properties["hs_lastmodifieddate"] = _now_text()

    def ours(self) -> dict[str, dict[str, Any]]:
        """The tasks carrying an engine task id, by that id (the last one wins)."""
        return {
            task["properties"][TASK_ID_PROPERTY]: task
            for task in self.tasks.values()
            if TASK_ID_PROPERTY in task["properties"]
        }

    # -- the server -------------------------------------------------------------------

    def start(self) -> None:
        """Serves on a free port (or the port it had, after `stop`)."""
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fake-hubspot", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake HubSpot did not start")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stops serving: connections are refused until `start` again."""
        self.hang_after_create = False
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    # -- the app ----------------------------------------------------------------------

    def _gate(self, request: Request) -> JSONResponse | None:
        """Auth, the down switch and the rate limit, in HubSpot's order."""
        self.requests.append((request.method, request.url.path))
        if self.down:
            return _error(503, "Service Unavailable", "SERVICE_UNAVAILABLE")
        token_info = request.url.path == TOKEN_INFO  # authenticated by the token it sends
        if not token_info and request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "Authentication credentials not found.",
                "INVALID_AUTHENTICATION",
            )
        if self.rate_limit is not None:
            calls, window = self.rate_limit
            now = time.monotonic()
            self._calls = [at for at in self._calls if at > now - window]
            if len(self._calls) >= calls:
                response = _error(
                    429,
                    "You have reached your ten_secondly_rolling limit.",
                    "RATE_LIMITS",
                    errorType="RATE_LIMIT",
                    policyName="TEN_SECONDLY_ROLLING",
                )
                response.headers["retry-after"] = str(self.retry_after_seconds)
                response.headers["x-hubspot-ratelimit-max"] = str(calls)
                response.headers["x-hubspot-ratelimit-remaining"] = "0"
                response.headers["x-hubspot-ratelimit-interval-milliseconds"] = str(
                    int(window * 1000)
                )
                return response
            self._calls.append(now)
        return None

    def _invalid_properties(self, properties: dict[str, str]) -> str | None:
        known = BUILT_IN | ({TASK_ID_PROPERTY} if self.has_task_id_property else set())
        for name, value in properties.items():
            if name not in known:
                return f'Property "{name}" does not exist'
            if name in ENUMS and value not in ENUMS[name]:
                return f'{value} was not one of the allowed options for "{name}"'
        owner = properties.get("hubspot_owner_id")
        if owner is not None and owner not in self.owners.values():
            return f"{owner} is not a valid owner id"
        if "hs_timestamp" in properties:
            try:
                _millis(properties["hs_timestamp"])
            except ValueError:
                return f"{properties['hs_timestamp']} is not a valid timestamp"
        return None

    def _matches(self, task: dict[str, Any], filters: list[Filter]) -> bool:
        properties = task["properties"]
        for f in filters:
            value = properties.get(f.propertyName)
            if f.operator == "HAS_PROPERTY":
                ok = value not in (None, "")
            elif f.operator == "EQ":
                ok = value == f.value
            elif f.operator == "GTE" and f.value is not None:
                ok = value is not None and _millis(value) >= _millis(f.value)
            else:
                raise NotImplementedError(f"the fake does not search with {f.operator}")
            if not ok:
                return False
        return True

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.exception_handler(RequestValidationError)
        async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
            return _error(400, f"Invalid input JSON: {exc.errors()}", "VALIDATION_ERROR")

        @app.middleware("http")
        async def gate(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            refused = self._gate(request)
            return refused if refused is not None else await call_next(request)

        @app.post("/crm/v3/objects/tasks", status_code=201)
        async def create(body: CreateInput) -> Any:
            problem = self._invalid_properties(body.properties)
            if "hs_timestamp" not in body.properties:
                problem = problem or "hs_timestamp is required"
            links: list[tuple[int, str]] = []
            for association in body.associations:
                for spec in association.types:
                    kind = ASSOCIATION_TARGETS.get(spec.associationTypeId)
                    targets = {"companies": self.companies, "deals": self.deals}.get(kind or "")
                    if targets is None or association.to.id not in targets:
                        problem = problem or (
                            f"No {kind or 'object'} with id {association.to.id} for association"
                            f" type {spec.associationTypeId}"
                        )
                    links.append((spec.associationTypeId, association.to.id))
            if problem:
                return _error(400, problem, "VALIDATION_ERROR")
            hubspot_id = str(next(self._ids))
            now = _now_text()
            with self._lock:
                self.tasks[hubspot_id] = {
                    "properties": dict(body.properties)
                    | {"hs_createdate": now, "hs_lastmodifieddate": now},
                    "associations": links,
                }
            while self.hang_after_create:
                await asyncio.sleep(0.02)
            return {
                "id": hubspot_id,
                "properties": self.tasks[hubspot_id]["properties"],
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }

        @app.patch("/crm/v3/objects/tasks/{task_id}")
        async def patch(task_id: str, body: UpdateInput) -> Any:
            if task_id not in self.tasks:
                return _error(404, f"No task with id {task_id}", "OBJECT_NOT_FOUND")
            if problem := self._invalid_properties(body.properties):
                return _error(400, problem, "VALIDATION_ERROR")
            with self._lock:
                properties = self.tasks[task_id]["properties"]
                properties.update(body.properties)
                properties["hs_lastmodifieddate"] = _now_text()
            return {"id": task_id, "properties": properties, "archived": False}

        @app.post("/crm/v3/objects/tasks/search")
        async def search(body: SearchRequest) -> Any:
            groups = body.filterGroups or [FilterGroup(filters=[])]
            found = [
                (hubspot_id, task)
                for hubspot_id, task in list(self.tasks.items())
                if any(self._matches(task, group.filters) for group in groups)
            ]
            sorts = [
                sort if isinstance(sort, Sort) else Sort(propertyName=sort, direction="ASCENDING")
                for sort in body.sorts
            ]
            for sort in reversed(sorts):
                found.sort(
                    key=lambda item, name=sort.propertyName: _millis(
                        item[1]["properties"].get(name) or "0"
                    ),
                    reverse=sort.direction == "DESCENDING",
                )
            start = int(body.after)
            page = found[start : start + body.limit]
            wanted = set(body.properties) | {"hs_createdate", "hs_lastmodifieddate"}
            results = [
                {
                    "id": hubspot_id,
                    "properties": {
                        name: value for name, value in task["properties"].items() if name in wanted
                    },
                    "archived": False,
                }
                for hubspot_id, task in page
            ]
            more = start + body.limit < len(found)
            return {"total": len(found), "results": results} | (
                {"paging": {"next": {"after": str(start + body.limit)}}} if more else {}
            )

        @app.get("/crm/v3/owners/")
        async def owners(email: str | None = None, limit: int = 100, archived: bool = False) -> Any:
            matching = [
                {"id": owner_id, "email": address, "type": "PERSON", "archived": archived}
                for address, owner_id in self.owners.items()
                if email is None or address == email.lower()
            ]
            return {"results": matching[:limit]}

        @app.get("/crm/v3/properties/tasks/{name}")
        async def task_property(name: str) -> Any:
            if name in BUILT_IN or (name == TASK_ID_PROPERTY and self.has_task_id_property):
                return {"name": name, "type": "string", "fieldType": "text"}
            return _error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")

        @app.post(TOKEN_INFO)
        async def token_info(body: TokenInfoRequest) -> Response:
            if body.tokenKey != self.token:
                return _error(401, "The access token is invalid", "INVALID_AUTHENTICATION")
            return JSONResponse(
                {"userId": 1, "hubId": 123456, "appId": 7, "scopes": list(self.scopes)}
            )

        return app
