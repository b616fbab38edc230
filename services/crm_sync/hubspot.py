"""HubSpot: engine tasks as HubSpot tasks (CRM v3 objects API), over httpx.

**Mapping** (docs/crm/hubspot.md): `hs_task_subject` = title; `hs_task_body` = the
playbook text, with the closing reason appended once ours is closed; `hs_timestamp` (the
due date) = noon UTC of the due date, so the date reads the same in every portal time zone
from UTC-11 to UTC+11; `hs_task_priority` LOW/MEDIUM/HIGH (`urgent` is HIGH);
`hs_task_status` NOT_STARTED, or COMPLETED once ours is done, dismissed or auto-closed;
`hubspot_owner_id` = the HubSpot user with the task owner's e-mail (owners API, cached);
associations to the company (`external_ids.hubspot` of the account) and the deal (of the
contract) where known, made in the create call. The engine's task id goes into the custom
task property `renewals_task_id`, which the portal must have (`renewals crm check
hubspot` says when it does not); `find` and the polling search on it.

**Failures** become `CrmCallFailed`: 429 with the pause it asks for (`Retry-After`, else
the `X-HubSpot-RateLimit-Interval-Milliseconds` window, an hour for the daily limit); 5xx,
timeouts and connection errors are retried; 401 and 403 too (a token or scope problem is
fixed in the portal, and the tasks should then catch up by themselves); any other 4xx is
permanent. After a 429, or an answer saying the window's calls are used up, no call is
made until the pause is over: the connector fails fast instead, with the time left.

**No batch endpoints.** HubSpot has batch create/update for tasks, but the syncer pushes
each task on its own so that one task's failure (a deleted company, a bad owner) never
fails its neighbours, and so that the find-before-create rule stays per task. The rate
limit (100-190 calls per 10 s per private app) is far above what task changes need.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any, ClassVar, Self

import httpx

from services.crm_sync.connector import CompletedInCrm, CrmCallFailed, TaskForCrm
from shared.clock import utcnow
from shared.config import Settings
from shared.runtime.backoff import retry_after
from shared.runtime.steps import describe

TASK_ID_PROPERTY = "renewals_task_id"
"""The custom task property carrying the engine's task id (single-line text)."""
REQUIRED_SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.owners.read",
)
"""Tasks are engagements, which HubSpot guards with the contacts scopes; owners are read
to find the HubSpot user of each task owner's e-mail."""
TASK_TO_COMPANY = 192
TASK_TO_DEAL = 216
"""HubSpot-defined association type ids (v4), task to company and task to deal."""
PRIORITIES = {"low": "LOW", "normal": "MEDIUM", "high": "HIGH", "urgent": "HIGH"}
CLOSED = {
    "done": "Done in the renewal engine",
    "dismissed": "Dismissed in the renewal engine",
    "auto_closed": "Closed by the renewal engine",
}
DAILY_LIMIT_PAUSE = 3600.0
"""Seconds to wait when the portal's daily limit is used up (it resets at midnight in the
portal's time zone, which the API does not say)."""
DEFAULT_PAUSE = 10.0
OWNER_CACHE_SECONDS = 3600.0
USER_AGENT = "renewals-crm-sync/1.0"
_MESSAGE_CHARS = 300


def hubspot_time(moment: datetime) -> str:
    """A timestamp as HubSpot's API writes them (ISO 8601, UTC, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def task_body(task: TaskForCrm) -> str:
    """The playbook text, and once ours is closed how and why."""
    closed = CLOSED.get(task.status)
    if closed is None:
        return task.description
    reason = task.outcome or task.status_reason
    return f"{task.description}\n\n{closed}" + (f": {reason}" if reason else ".")


def task_properties(task: TaskForCrm, owner_id: str | None) -> dict[str, str]:
    """The HubSpot properties of a task (the same on create and update)."""
    due = datetime.combine(task.due_date, clock_time(12), tzinfo=UTC)
    properties = {
        "hs_task_subject": task.title,
        "hs_task_body": task_body(task),
        "hs_timestamp": hubspot_time(due),
        "hs_task_priority": PRIORITIES.get(task.priority, "MEDIUM"),
        "hs_task_status": "NOT_STARTED" if task.status == "open" else "COMPLETED",
        "hs_task_type": "TODO",
        TASK_ID_PROPERTY: str(task.task_id),
    }
    if owner_id is not None:
        properties["hubspot_owner_id"] = owner_id
    return properties


def associations(task: TaskForCrm) -> list[dict[str, Any]]:
    """The create call's associations: the company and the deal, where known."""
    targets = [(task.account_crm_id, TASK_TO_COMPANY), (task.contract_crm_id, TASK_TO_DEAL)]
    return [
        {
            "to": {"id": target},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }
        for target, type_id in targets
        if target is not None
    ]


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MESSAGE_CHARS]
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or body)[:_MESSAGE_CHARS]


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) / 1000 if value is not None else None
    except ValueError:
        return None


def asked_pause(response: httpx.Response) -> float:
    """Seconds a 429 asks us to wait: its `Retry-After`, else an hour when the daily
    limit is used up, else the rate-limit window's length."""
    headers = response.headers
    asked = retry_after(headers.get("retry-after"), utcnow())
    if asked is not None:
        return asked
    if headers.get("x-hubspot-ratelimit-daily-remaining") == "0" or "DAILY" in response.text:
        return DAILY_LIMIT_PAUSE
    return _seconds(headers.get("x-hubspot-ratelimit-interval-milliseconds")) or DEFAULT_PAUSE


class HubSpotConnector:
    """One HubSpot portal, through a private app's access token."""

    crm: ClassVar[str] = "hubspot"
    search_page = 100
    """Results per search page (HubSpot allows up to 200)."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        timeout: float,
        poll_seconds: float | None,
    ) -> None:
        self.token = token
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self.client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"authorization": f"Bearer {token}", "user-agent": USER_AGENT},
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self._owners: dict[str, tuple[str | None, float]] = {}
        self._resume_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        """None when `RENEWALS_HUBSPOT_ACCESS_TOKEN` is not set (sync off)."""
        if settings.hubspot_access_token is None:
            return None
        return cls(
            token=settings.hubspot_access_token.get_secret_value(),
            api_url=settings.hubspot_api_url,
            timeout=settings.crm_sync_timeout_seconds,
            poll_seconds=settings.hubspot_poll_seconds or None,
        )

    # -- calls ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        passing: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One request; the answer when it succeeded or its status is in `passing`."""
        wait = self._resume_at - time.monotonic()
        if wait > 0:
            raise CrmCallFailed(
                f"not called: HubSpot asked for a pause ({wait:.1f} s left)", retry_after=wait
            )
        try:
            response = await self.client.request(method, path, json=json, params=params)
        except httpx.TimeoutException:
            raise CrmCallFailed(f"HubSpot did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise CrmCallFailed(f"HubSpot could not be reached: {describe(exc)}") from None
        status = response.status_code
        if status == 429:
            pause = asked_pause(response)
            self._pause(pause)
            raise CrmCallFailed(f"HubSpot's rate limit: {_message(response)}", retry_after=pause)
        if response.headers.get("x-hubspot-ratelimit-remaining") == "0":
            interval = _seconds(response.headers.get("x-hubspot-ratelimit-interval-milliseconds"))
            self._pause(interval or DEFAULT_PAUSE)
        if response.is_success or status in passing:
            return response
        text = f"HubSpot answered {status} to {method} {path}: {_message(response)}"
        if status >= 500:
            raise CrmCallFailed(
                text, retry_after=retry_after(response.headers.get("retry-after"), utcnow())
            )
        raise CrmCallFailed(text, permanent=status not in (401, 403))

    def _pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    async def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._call("POST", "/crm/v3/objects/tasks/search", json=body)
        found: dict[str, Any] = response.json()
        return found

    # -- the Connector protocol -------------------------------------------------------

    async def owner_id(self, email: str) -> str | None:
        """The id of the HubSpot owner (user) with this e-mail, None when there is none;
        cached for an hour, misses too."""
        key = email.strip().lower()
        cached = self._owners.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        response = await self._call(
            "GET", "/crm/v3/owners/", params={"email": key, "limit": "1", "archived": "false"}
        )
        results = response.json().get("results") or []
        owner = str(results[0]["id"]) if results else None
        self._owners[key] = (owner, time.monotonic() + OWNER_CACHE_SECONDS)
        return owner

    async def find(self, task_id: uuid.UUID) -> str | None:
        found = await self._search(
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": TASK_ID_PROPERTY,
                                "operator": "EQ",
                                "value": str(task_id),
                            }
                        ]
                    }
                ],
                "properties": [TASK_ID_PROPERTY],
                "sorts": [{"propertyName": "hs_createdate", "direction": "ASCENDING"}],
                "limit": 1,
                "after": "0",
            }
        )
        results = found.get("results") or []
        return str(results[0]["id"]) if results else None

    async def create(self, task: TaskForCrm) -> str:
        owner = await self.owner_id(task.owner) if task.owner else None
        body = {"properties": task_properties(task, owner), "associations": associations(task)}
        response = await self._call("POST", "/crm/v3/objects/tasks", json=body)
        return str(response.json()["id"])

    async def update(self, crm_object_id: str, task: TaskForCrm) -> None:
        owner = await self.owner_id(task.owner) if task.owner else None
        await self._call(
            "PATCH",
            f"/crm/v3/objects/tasks/{crm_object_id}",
            json={"properties": task_properties(task, owner)},
        )

    async def completed_since(self, since: datetime) -> list[CompletedInCrm]:
        """Completed tasks of ours modified at or after `since`, oldest first (HubSpot's
        search returns at most 10,000 per query; the poll interval keeps far below)."""
        filters = [
            {"propertyName": "hs_task_status", "operator": "EQ", "value": "COMPLETED"},
            {"propertyName": TASK_ID_PROPERTY, "operator": "HAS_PROPERTY"},
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "GTE",
                "value": str(int(since.timestamp() * 1000)),
            },
        ]
        completed: list[CompletedInCrm] = []
        after: str | None = "0"
        while after is not None:
            found = await self._search(
                {
                    "filterGroups": [{"filters": filters}],
                    "properties": ["hs_task_status", "hs_lastmodifieddate", TASK_ID_PROPERTY],
                    "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                    "limit": self.search_page,
                    "after": after,
                }
            )
            for result in found.get("results") or []:
                modified = (result.get("properties") or {}).get("hs_lastmodifieddate")
                completed.append(
                    CompletedInCrm(
                        crm_object_id=str(result["id"]),
                        completed_at=_parse_time(modified or result.get("updatedAt")),
                    )
                )
            after = ((found.get("paging") or {}).get("next") or {}).get("after")
        return completed

    async def check(self) -> list[str]:
        """The token works and has the scopes, and the portal has the task id property."""
        response = await self._call(
            "POST",
            "/oauth/v2/private-apps/get/access-token-info",
            json={"tokenKey": self.token},
            passing=(400, 401, 404),
        )
        if not response.is_success:
            return [
                "HubSpot does not know the access token: copy it again from the private app's"
                " Auth tab into RENEWALS_HUBSPOT_ACCESS_TOKEN."
            ]
        granted = set(response.json().get("scopes") or [])
        missing = [
            f"The private app lacks the scope {scope}: add it under the app's Scopes tab."
            for scope in REQUIRED_SCOPES
            if scope not in granted
        ]
        found = await self._call(
            "GET", f"/crm/v3/properties/tasks/{TASK_ID_PROPERTY}", passing=(404,)
        )
        if found.status_code == 404:
            missing.append(
                f"The portal has no task property {TASK_ID_PROPERTY}: create it (object Tasks,"
                " field type single-line text, internal name renewals_task_id)."
            )
        return missing

    async def aclose(self) -> None:
        await self.client.aclose()


def _parse_time(value: Any) -> datetime:
    """A HubSpot timestamp (ISO 8601, or epoch milliseconds); now when it has none."""
    if value is None:
        return utcnow()
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
