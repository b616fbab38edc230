"""What a sender gets back for a delivery, and HubSpot's event shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.ingest.schemas import BatchAccepted


class GenericReceipt(BatchAccepted):
    webhook_id: str
    duplicate: bool = Field(
        description="True when this webhook-id was received before: nothing was applied"
    )


class HubSpotEvent(BaseModel):
    """One subscription event. Fields HubSpot adds or that are not used here are ignored;
    `objectId` is optional because association events name two objects instead."""

    model_config = ConfigDict(extra="ignore")

    event_id: int = Field(alias="eventId")
    subscription_id: int = Field(alias="subscriptionId")
    portal_id: int = Field(alias="portalId")
    occurred_at: int = Field(alias="occurredAt", ge=0, le=10**14, description="Epoch ms")
    subscription_type: str = Field(alias="subscriptionType", min_length=1, max_length=100)
    object_id: int | None = Field(default=None, alias="objectId")
    object_type_id: str | None = Field(
        default=None, alias="objectTypeId", max_length=20, description="Generic events only"
    )
    property_name: str | None = Field(default=None, alias="propertyName", max_length=200)
    property_value: str | None = Field(default=None, alias="propertyValue")

    @field_validator("property_value", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        """HubSpot sends values as strings; a number or boolean is read as its text."""
        if isinstance(value, bool):
            return str(value).lower()
        return str(value) if isinstance(value, int | float) else value

    @property
    def occurred(self) -> datetime:
        return datetime.fromtimestamp(self.occurred_at / 1000, tz=UTC)


Outcome = Literal["applied", "ignored", "duplicate"]


class HubSpotOutcome(BaseModel):
    event_id: int
    subscription_type: str
    object_id: int | None
    outcome: Outcome
    reason: str | None = Field(default=None, description="Why the event changed nothing")


class HubSpotReceipt(BaseModel):
    applied: int
    ignored: int
    duplicates: int
    items: list[HubSpotOutcome] = Field(description="One per event, in the delivery's order")
