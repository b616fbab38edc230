from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.domain.schemas import Amount, Day, InputModel, Notes, OutputModel
from shared.enums import TaskStatus


class TaskUpdate(InputModel):
    """People close tasks; only the engine opens them or closes them automatically."""

    status: Literal["done", "dismissed"]
    outcome: Notes | None = Field(
        default=None,
        description="What happened: kept on the task, at most 5,000 characters; "
        "line feeds allowed, other control characters not",
    )
    expected_arr: Amount | None = Field(
        default=None,
        description="Only when closing an `expansion_opportunity` task as `done`: the ARR "
        "the account manager now expects for the term, which its renewal forecast takes",
    )


class TaskFilters(BaseModel):
    """Query filters of `GET /v1/tasks`; each one narrows the list."""

    contract_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    owner: str | None = Field(default=None, description="The owner's e-mail, exactly")
    status: TaskStatus | None = None
    kind: str | None = Field(default=None, max_length=40)
    due_before: Day | None = Field(default=None, description="Due strictly before this date")
    due_after: Day | None = Field(default=None, description="Due strictly after this date")


class TaskRead(OutputModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    partner_id: uuid.UUID | None
    kind: str
    title: str
    description: str
    due_date: date
    priority: str
    owner: str | None
    status: TaskStatus
    status_reason: str | None
    outcome: str | None
    dedupe_key: str
    source_event_id: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TaskPage(OutputModel):
    items: list[TaskRead]
    next_cursor: str | None
