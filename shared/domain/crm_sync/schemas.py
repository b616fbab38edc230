"""What `GET /v1/crm-sync` shows of each engine task's sync with a CRM."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.domain.schemas import OutputModel

SyncStatus = Literal["pending", "synced", "failed"]
Crm = Literal["hubspot", "salesforce"]


class CrmSyncFilters(BaseModel):
    """Query filters of `GET /v1/crm-sync`; each one narrows the list."""

    status: SyncStatus | None = None
    crm: Crm | None = None
    task_id: uuid.UUID | None = None


class CrmSyncRead(OutputModel):
    task_id: uuid.UUID
    crm: str
    status: SyncStatus = Field(
        description="`pending`: due at `next_attempt_at`; `synced`: the CRM has"
        " `synced_version`; `failed`: given up (see `last_error`), until a retry"
    )
    crm_object_id: str | None = Field(description="The CRM's id of its copy of the task")
    wanted_version: int = Field(description="The task version the CRM must catch up with")
    synced_version: int | None
    attempts: int = Field(description="Attempts since the last success or new version")
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CrmSyncPage(OutputModel):
    items: list[CrmSyncRead]
    next_cursor: str | None


class CrmSyncRetried(OutputModel):
    items: list[CrmSyncRead] = Field(description="The task's syncs, one per CRM, now due")
