from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from shared.domain.schemas import InputModel, OutputModel

FeedOwner = Annotated[
    str,
    Field(
        min_length=1,
        max_length=320,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The account manager e-mail whose feed the token opens",
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
