"""Engine tasks as Salesforce `Task` records (docs/crm/salesforce.md).

A task is created on the contract's Opportunity (`WhatId`), else on its Account, owned
by the active User whose e-mail is the account owner's (found with SOQL, cached), and
carries the engine task's id in the custom field `Renewal_Task_Id__c`: `find` looks it
up there before a create is retried, and polling reads completed tasks by it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from services.crm_sync.connector import CompletedInCrm, CrmCallFailed, TaskForCrm
from services.crm_sync.salesforce.client import SalesforceClient, read
from shared.config import Settings
from shared.enums import TaskStatus
from shared.salesforce_ids import to_18

TASK_ID_FIELD = "Renewal_Task_Id__c"
"""The custom Activity field (Text, 36) holding the engine task id."""
PRIORITIES = {"urgent": "High", "high": "High", "normal": "Normal", "low": "Low"}
OPEN, COMPLETED = "Not Started", "Completed"
OWNER_TTL_SECONDS = 3600.0
"""How long a User found (or not found) by e-mail is remembered: users join later."""
_SUBJECT_MAX, _DESCRIPTION_MAX = 255, 32_000
_CLOSINGS = {
    TaskStatus.DONE: "Done in the renewal engine",
    TaskStatus.DISMISSED: "Dismissed in the renewal engine",
    TaskStatus.AUTO_CLOSED: "Closed by the renewal engine",
}


def soql_text(value: str) -> str:
    """A SOQL string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_datetime(moment: datetime) -> str:
    """SOQL's unquoted dateTime literal, in UTC, to the second (rounded down, so a
    poll from it never misses a record; one seen twice is closed here once)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_id(value: str, what: str) -> str:
    try:
        return to_18(value)
    except ValueError:
        raise CrmCallFailed(
            f"external_ids.salesforce of the task's {what} is {value!r}, not a Salesforce id",
            permanent=True,
        ) from None


def _description(task: TaskForCrm) -> str:
    text = task.description
    closing = _CLOSINGS.get(TaskStatus(task.status))
    if closing is not None:
        detail = "; ".join(part for part in (task.status_reason, task.outcome) if part)
        text += f"\n\n{closing}" + (f": {detail}" if detail else ".")
    return text[:_DESCRIPTION_MAX]


class SalesforceConnector:
    crm: ClassVar[str] = "salesforce"

    def __init__(self, client: SalesforceClient, *, poll_seconds: float | None) -> None:
        self.poll_seconds = poll_seconds
        """Seconds between polls for tasks completed in Salesforce; None: never."""
        self._client = client
        self._owners: dict[str, tuple[str | None, float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceConnector | None:
        """None unless the My Domain URL and the client credentials are all set (the
        settings refuse one without the others)."""
        url, client_id = settings.salesforce_url, settings.salesforce_client_id
        secret = settings.salesforce_client_secret
        if url is None or client_id is None or secret is None:
            return None
        client = SalesforceClient(url, client_id, secret, timeout=settings.crm_sync_timeout_seconds)
        return cls(client, poll_seconds=settings.salesforce_poll_seconds or None)

    async def owner_id(self, email: str | None) -> str | None:
        """The active User with this e-mail; None (the task stays with the connected
        app's Run As user) when there is none."""
        if not email:
            return None
        key = email.strip().lower()
        cached = self._owners.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        users = await self._client.query(
            f"SELECT Id FROM User WHERE Email = {soql_text(key)} AND IsActive = true"
            " ORDER BY CreatedDate LIMIT 1",
            doing="the owner's User lookup",
        )
        found = str(users[0]["Id"]) if users else None
        self._owners[key] = (found, time.monotonic() + OWNER_TTL_SECONDS)
        return found

    async def _fields(self, task: TaskForCrm) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Subject": task.title[:_SUBJECT_MAX],
            "Description": _description(task),
            "ActivityDate": task.due_date.isoformat(),
            "Priority": PRIORITIES.get(task.priority, "Normal"),
            "Status": OPEN if task.status == TaskStatus.OPEN else COMPLETED,
            TASK_ID_FIELD: str(task.task_id),
        }
        if task.contract_crm_id:
            fields["WhatId"] = _record_id(task.contract_crm_id, "contract (Opportunity)")
        elif task.account_crm_id:
            fields["WhatId"] = _record_id(task.account_crm_id, "account")
        owner = await self.owner_id(task.owner)
        if owner is not None:
            fields["OwnerId"] = owner
        return fields

    async def find(self, task_id: uuid.UUID) -> str | None:
        records = await self._client.query(
            f"SELECT Id FROM Task WHERE {TASK_ID_FIELD} = {soql_text(str(task_id))}"
            " ORDER BY CreatedDate LIMIT 1",
            doing="the search for a task already created",
        )
        return str(records[0]["Id"]) if records else None

    async def create(self, task: TaskForCrm) -> str:
        doing = "the Task create"
        response = await self._client.call(
            "POST", "sobjects/Task", json=await self._fields(task), doing=doing
        )
        return str(read(response, doing, "id"))

    async def update(self, crm_object_id: str, task: TaskForCrm) -> None:
        await self._client.call(
            "PATCH",
            f"sobjects/Task/{crm_object_id}",
            json=await self._fields(task),
            doing="the Task update",
        )

    async def completed_since(self, since: datetime) -> list[CompletedInCrm]:
        records = await self._client.query(
            f"SELECT Id, LastModifiedDate FROM Task WHERE {TASK_ID_FIELD} != null"
            f" AND Status = {soql_text(COMPLETED)}"
            f" AND LastModifiedDate >= {soql_datetime(since)} ORDER BY LastModifiedDate",
            doing="the poll for completed tasks",
        )
        return [
            CompletedInCrm(
                crm_object_id=str(record["Id"]),
                completed_at=datetime.strptime(
                    record["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z"
                ),
            )
            for record in records
        ]

    async def check(self, owners: Iterable[str] = ()) -> list[str]:
        """The credentials, the custom field and the Status values on Task, and which
        of `owners` (the account owners' e-mails) have no active User."""
        try:
            await self._client.token()
            describe = await self._client.call(
                "GET", "sobjects/Task/describe", doing="the Task describe"
            )
            fields = read(describe, "the Task describe", "fields")
        except CrmCallFailed as exc:
            return [
                f"{exc} (check RENEWALS_SALESFORCE_URL, RENEWALS_SALESFORCE_CLIENT_ID and"
                " RENEWALS_SALESFORCE_CLIENT_SECRET, and that the connected app enables the"
                " client-credentials flow with a Run As user who may read and edit Tasks)"
            ]
        problems = _task_problems({field["name"]: field for field in fields})
        for email in sorted({owner.strip().lower() for owner in owners if owner}):
            try:
                if await self.owner_id(email) is None:
                    problems.append(
                        f"No active Salesforce user has the e-mail {email}: tasks of the"
                        " accounts it owns are assigned to the connected app's Run As user"
                    )
            except CrmCallFailed as exc:
                problems.append(str(exc))
        return problems

    async def aclose(self) -> None:
        await self._client.aclose()


def _task_problems(fields: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    custom = fields.get(TASK_ID_FIELD)
    if custom is None:
        problems.append(
            f"Task has no field {TASK_ID_FIELD}: create a custom Activity field of type"
            " Text(36) with that API name (Setup > Object Manager > Activity > Fields)"
        )
    elif not (custom.get("createable") and custom.get("updateable")):
        problems.append(
            f"The connected app's Run As user cannot edit Task.{TASK_ID_FIELD}: grant it"
            " edit access in the field's field-level security"
        )
    statuses = {value["value"] for value in fields.get("Status", {}).get("picklistValues", [])}
    missing = [status for status in (OPEN, COMPLETED) if status not in statuses]
    if missing:
        problems.append(
            f"Task's Status picklist lacks {', '.join(missing)}: the sync sets Status to"
            f" {OPEN!r} and {COMPLETED!r}"
        )
    return problems
