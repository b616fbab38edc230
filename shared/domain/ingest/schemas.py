from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from shared.events.types import ACCEPTED_FROM_CLIENTS

_CLIENT_TYPES: list[JsonValue] = [str(type_) for type_ in sorted(ACCEPTED_FROM_CLIENTS)]
"""Documented as the enum of `type`; the service checks it and names the field."""

EventText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CloudEventIn(BaseModel):
    """A CloudEvents 1.0 event in structured mode. Extension attributes are allowed and
    ignored; `actor` is always set from the API key, never taken from the client."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: EventText
    source: EventText
    type: EventText = Field(
        description="A lifecycle type clients may send",
        json_schema_extra={"enum": _CLIENT_TYPES},
    )
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
