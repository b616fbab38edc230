"""What the sync engine needs of a CRM; each CRM is one module implementing `Connector`.

The engine decides when to push which task; a connector only translates one task into
the CRM's API and back, and says how a failed call should be retried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class TaskForCrm:
    """One engine task as every CRM needs it, read when it is pushed (never from the
    notification, so the CRM always gets the latest state)."""

    task_id: uuid.UUID
    kind: str
    title: str
    description: str
    due_date: date
    priority: str
    status: str
    status_reason: str | None
    outcome: str | None
    owner: str | None
    account_name: str
    account_crm_id: str | None
    """`external_ids[<crm>]` of the task's account (HubSpot company, Salesforce Account)."""
    contract_crm_id: str | None
    """`external_ids[<crm>]` of the task's contract (HubSpot deal, Salesforce Opportunity)."""


@dataclass(frozen=True, slots=True)
class CompletedInCrm:
    """A task the CRM reports completed, found by polling."""

    crm_object_id: str
    completed_at: datetime


class CrmCallFailed(Exception):
    """A CRM call that did not succeed. `retry_after` (seconds) when the CRM asked for a
    pause (429, Salesforce's REQUEST_LIMIT_EXCEEDED, a rate-limit header); `permanent`
    when retrying cannot help (a 4xx other than those), so the sync fails at once."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Connector(Protocol):
    """One CRM. Every method raises `CrmCallFailed` for what the CRM or network does."""

    crm: ClassVar[str]
    """The CRM's key in `external_ids` and in `crm_task_syncs.crm`: `hubspot`, ..."""

    poll_seconds: float | None
    """How often to ask the CRM for tasks completed there (`completed_since`); None when
    completions only come pushed (or not at all)."""

    async def find(self, task_id: uuid.UUID) -> str | None:
        """The CRM's id of the task that carries this engine task id, if one exists:
        asked before a create is retried, so a lost answer creates nothing twice."""
        ...

    async def create(self, task: TaskForCrm) -> str:
        """Creates the CRM's task, carrying `task.task_id`; returns the CRM's id."""
        ...

    async def update(self, crm_object_id: str, task: TaskForCrm) -> None:
        """Brings the CRM's task to the engine task's state (completed when ours is
        done, dismissed or closed by the engine, with the reason)."""
        ...

    async def completed_since(self, since: datetime) -> list[CompletedInCrm]:
        """Tasks carrying an engine task id that were completed in the CRM and modified
        after `since` (the polling fallback)."""
        ...

    async def check(self) -> list[str]:
        """What is missing for the sync to work (scopes, owners without a CRM user,
        unmapped fields), each in a sentence; empty when all is in place."""
        ...

    async def aclose(self) -> None:
        """Closes the HTTP client."""
        ...
