"""A local Salesforce org for the Task sync: a real HTTP server (uvicorn on 127.0.0.1)
with the endpoints the connector uses, answering as Salesforce documents them.

- `POST /services/oauth2/token`: the client-credentials flow; wrong credentials answer
  400 `invalid_client`.
- Below `/services/data/v62.0/` (a bearer token from that endpoint, else 401
  `INVALID_SESSION_ID`): `sobjects/Task` create (201 `{id, success, errors}`), update
  (PATCH, 204) and `describe`; `query?q=` for the SOQL the connector sends (SELECT
  fields FROM Task|User, WHERE comparisons joined by AND, ORDER BY, LIMIT), paged by
  `nextRecordsUrl`. Task bodies are checked as Salesforce checks them: unknown or
  read-only fields, restricted picklists, dates, owners and a `WhatId` that names no
  Account or Opportunity (`add_account`, `add_opportunity`) answer 400.
- Switches a test flips: `expire_token()` (the next call answers 401, as an expired
  session does), `limit_exceeded` (403 `REQUEST_LIMIT_EXCEEDED`), `rate_limited` (429
  with `Retry-After`), `down` (503 everywhere), `has_task_id_field` (the custom field),
  `hang_after_create` (the create's answer never arrives).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.salesforce_ids import to_18
from tests.crm.fakes.soql import VERSION, SoqlError, select

TASK_ID_FIELD = "Renewal_Task_Id__c"
PRIORITIES = ("High", "Normal", "Low")
STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
WRITABLE = {"Subject", "Description", "ActivityDate", "Priority", "Status", "WhatId", "OwnerId"}
READ_ONLY = {"Id", "IsClosed", "CreatedDate", "LastModifiedDate"}


def _errors(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


class FakeSalesforce:
    client_id = "3MVG9-fake-connected-app"
    client_secret = "fake-consumer-secret"

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.records: set[str] = set()
        """Ids of the Accounts and Opportunities that exist."""
        self._ids = itertools.count(1)
        self.run_as = self.add_user("integration@vendor.example")
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every API call that got past authentication."""
        self.queries: list[str] = []
        """The SOQL of every query that got past authentication."""
        self.has_task_id_field = True
        self.limit_exceeded = False
        self.rate_limited: float | None = None
        """`Retry-After` seconds of the 429 every API call gets, while set."""
        self.down = False
        self.page_size = 2000
        self.hang_after_create = False
        """While set, a create stores the task and then answers only when it is unset:
        the answer a killed syncer never reads."""
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._expire = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self._token, methods=["POST"]),
                Route(f"/services/data/{VERSION}/sobjects/Task", self._create, methods=["POST"]),
                Route(
                    f"/services/data/{VERSION}/sobjects/Task/describe",
                    self._describe,
                    methods=["GET"],
                ),
                Route(
                    f"/services/data/{VERSION}/sobjects/Task/{{task_id}}",
                    self._update,
                    methods=["PATCH"],
                ),
                Route(f"/services/data/{VERSION}/query", self._query, methods=["GET"]),
                Route(f"/services/data/{VERSION}/query/{{locator}}", self._more, methods=["GET"]),
            ]
        )

    # What a test does to the org.

    def _new_id(self, prefix: str) -> str:
        return to_18(f"{prefix}5g{next(self._ids):010d}")

    def add_user(self, email: str, *, active: bool = True) -> str:
        user_id = self._new_id("005")
        self.users[user_id] = {
            "Id": user_id,
            "Email": email,
            "IsActive": active,
            "CreatedDate": datetime.now(UTC),
        }
        return user_id

    def add_account(self, account_id: str | None = None) -> str:
        """An Account record (a new id unless given): a Task's `WhatId` must name an
        existing record."""
        account_id = to_18(account_id) if account_id else self._new_id("001")
        self.records.add(account_id)
        return account_id

    def add_opportunity(self, opportunity_id: str | None = None) -> str:
        opportunity_id = to_18(opportunity_id) if opportunity_id else self._new_id("006")
        self.records.add(opportunity_id)
        return opportunity_id

    def complete(self, task_id: str) -> None:
        """A user completes the task in Salesforce."""
        task = self.tasks[task_id]
        task.update(Status="Completed", IsClosed=True, LastModifiedDate=datetime.now(UTC))

    def expire_token(self) -> None:
        """The next API call answers 401 and every token issued so far is revoked."""
        self._expire = True

    @property
    def settings(self) -> dict[str, str]:
        """`Settings` overrides pointing the connector at this org."""
        return {
            "salesforce_url": self.url,
            "salesforce_client_id": self.client_id,
            "salesforce_client_secret": self.client_secret,
        }

    @property
    def env(self) -> dict[str, str]:
        """The same as `RENEWALS_*` variables, for a `renewals` process."""
        return {f"RENEWALS_{name.upper()}": value for name, value in self.settings.items()}

    # The server.

    def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the fake Salesforce did not start"
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # Endpoints.

    async def _token(self, request: Request) -> Response:
        if self.down:
            return Response("Service Unavailable", 503)
        self.token_requests += 1
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return JSONResponse(
                {"error": "invalid_request", "error_description": "must be a form post"}, 400
            )
        form = {
            name: values[0] for name, values in parse_qs((await request.body()).decode()).items()
        }
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"},
                400,
            )
        token = f"00D5g000004ABCD!{secrets.token_urlsafe(24)}"
        self.tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "signature": secrets.token_urlsafe(24),
                "token_format": "opaque",
                "instance_url": self.url,
                "id": f"{self.url}/id/00D5g000004ABCDEAU/{self.run_as}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            }
        )

    def _refused(self, request: Request) -> Response | None:
        """The answer for a call that does not get through, if any."""
        if self.down:
            return Response("Service Unavailable", 503)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens or self._expire:
            self._expire = False
            self.tokens.clear()
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self.requests.append((request.method, request.url.path))
        if self.limit_exceeded:
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if self.rate_limited is not None:
            return _errors(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                "Too many requests",
                **{"Retry-After": str(self.rate_limited)},
            )
        return None

    def _task_fields(self) -> set[str]:
        return WRITABLE | READ_ONLY | ({TASK_ID_FIELD} if self.has_task_id_field else set())

    def _invalid(self, body: Any) -> Response | None:
        """Salesforce's 400 for a Task body it would refuse."""
        if not isinstance(body, dict):
            return _errors(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        for name, value in body.items():
            if name not in self._task_fields():
                return _errors(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type Task"
                )
            if name in READ_ONLY:
                return _errors(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}",
                )
            if value is not None and not isinstance(value, str):
                return _errors(400, "JSON_PARSER_ERROR", f"{name} must be a string")
        checks = {
            "Priority": lambda v: v in PRIORITIES,
            "Status": lambda v: v in STATUSES,
            "ActivityDate": lambda v: (
                bool(re.fullmatch(r"\d{4}-\d\d-\d\d", v)) and bool(date.fromisoformat(v))
            ),
            "OwnerId": lambda v: v in self.users and self.users[v]["IsActive"],
            "Subject": lambda v: len(v) <= 255,
            TASK_ID_FIELD: lambda v: len(v) <= 36,
        }
        what = body.get("WhatId")
        if what is not None and what not in self.records:
            return _errors(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: WhatId {what} is no Account or Opportunity",
            )
        for name, valid in checks.items():
            if body.get(name) is not None and not valid(body[name]):
                return _errors(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{name}: bad value for restricted field: {body[name]}",
                )
        return None

    async def _create(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        body = await request.json()
        if (invalid := self._invalid(body)) is not None:
            return invalid
        task_id = self._new_id("00T")
        now = datetime.now(UTC)
        self.tasks[task_id] = {
            "Id": task_id,
            "Subject": None,
            "Description": None,
            "ActivityDate": None,
            "Priority": "Normal",
            "Status": "Not Started",
            "WhatId": None,
            "OwnerId": self.run_as,
            TASK_ID_FIELD: None,
            **body,
            "IsClosed": body.get("Status") == "Completed",
            "CreatedDate": now,
            "LastModifiedDate": now,
        }
        while self.hang_after_create:
            await asyncio.sleep(0.02)
        return JSONResponse({"id": task_id, "success": True, "errors": []}, 201)

    async def _update(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        body = await request.json()
        if (invalid := self._invalid(body)) is not None:
            return invalid
        task.update(body)
        task.update(IsClosed=task["Status"] == "Completed", LastModifiedDate=datetime.now(UTC))
        return Response(status_code=204)

    async def _describe(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused

        def field(name: str, **extra: Any) -> dict[str, Any]:
            writable = name in WRITABLE or name == TASK_ID_FIELD
            return {"name": name, "createable": writable, "updateable": writable} | extra

        fields = [field(name) for name in sorted(self._task_fields() - {"Status", "Priority"})]
        fields += [
            field("Status", picklistValues=[{"value": v, "active": True} for v in STATUSES]),
            field("Priority", picklistValues=[{"value": v, "active": True} for v in PRIORITIES]),
        ]
        return JSONResponse({"name": "Task", "fields": fields})

    def _select(self, soql: str) -> list[dict[str, Any]]:
        users = {"Id", "Email", "IsActive", "CreatedDate"}
        return select(
            soql, {"Task": (self.tasks, self._task_fields()), "User": (self.users, users)}
        )

    def _page(self, records: list[dict[str, Any]], offset: int, locator: str) -> Response:
        page = records[offset : offset + self.page_size]
        body: dict[str, Any] = {
            "totalSize": len(records),
            "done": offset + self.page_size >= len(records),
            "records": page,
        }
        if not body["done"]:
            body["nextRecordsUrl"] = (
                f"/services/data/{VERSION}/query/{locator}-{offset + self.page_size}"
            )
        return JSONResponse(body)

    async def _query(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        soql = request.query_params.get("q", "")
        self.queries.append(soql)
        try:
            records = self._select(soql)
        except SoqlError as exc:
            return _errors(400, exc.code, str(exc))
        locator = f"01g{secrets.token_hex(6)}"
        self._cursors[locator] = records
        return self._page(records, 0, locator)

    async def _more(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        locator, _, offset = request.path_params["locator"].rpartition("-")
        if locator not in self._cursors or not offset.isdigit():
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(self._cursors[locator], int(offset), locator)


@pytest.fixture
def fake_salesforce() -> Iterator[FakeSalesforce]:
    """A running fake org; `.settings` / `.env` point the connector or a process at it."""
    fake = FakeSalesforce()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
