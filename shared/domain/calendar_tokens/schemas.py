from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from shared.domain.schemas import (
    NOT_BLANK,
    ONE_LINE,
    InputModel,
    OutputModel,
    no_control_characters,
)

FeedOwner = Annotated[
    str,
    StringConstraints(min_length=1, max_length=320, pattern=NOT_BLANK),
    BeforeValidator(no_control_characters),
    Field(
        description="The account manager e-mail whose feed the token opens",
        json_schema_extra={"pattern": ONE_LINE},
    ),
]


class CalendarTokenCreate(InputModel):
    owner: FeedOwner


class CalendarTokenRead(OutputModel):
    id: uuid.UUID
    owner: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    created_by: str = Field(description="The name of the API key that issued it")
    created_at: datetime
    revoked_at: datetime | None


class CalendarTokenCreated(CalendarTokenRead):
    token: str = Field(description="Shown only in this answer: put it in the feed URL as `?key=`")
    feed_path: str = Field(description="The feed's path with its owner and token")


class CalendarTokenPage(OutputModel):
    items: list[CalendarTokenRead]
    next_cursor: str | None
