from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.domain.schemas import OutputModel


class DeadLetterRead(OutputModel):
    """A poison event the worker gave up on, with the error it raised."""

    id: uuid.UUID
    stream: str
    event_id: str = Field(description="The CloudEvent's `id`")
    source: str = Field(description="The CloudEvent's `source`")
    type: str
    error: str
    failed_at: datetime
    replayed_at: datetime | None
    event: dict[str, Any] = Field(description="The CloudEvent as it was consumed")


class DeadLetterPage(OutputModel):
    items: list[DeadLetterRead]
    next_cursor: str | None
