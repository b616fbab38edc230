from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EventText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CloudEventIn(BaseModel):
    """A CloudEvents 1.0 event in structured mode. Extension attributes are allowed and
    ignored; `actor` is always set from the API key, never taken from the client."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: EventText
    source: EventText
    type: EventText
    time: AwareDatetime = Field(description="When the change happened; required here")
    subject: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: dict[str, Any]


class EventAccepted(BaseModel):
    id: str
    duplicate: bool = Field(description="True when this (source, id) was received before")


class BatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    items: list[EventAccepted]
