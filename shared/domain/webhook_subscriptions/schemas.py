from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, HttpUrl, UrlConstraints, field_validator

from shared.domain.schemas import InputModel, OutputModel, UpdateModel
from shared.events.types import WebhookEventType

WebhookUrl = Annotated[
    HttpUrl,
    UrlConstraints(max_length=2000, allowed_schemes=["http", "https"]),
    Field(
        description="Where deliveries are POSTed. It must resolve to public addresses only "
        "(checked now and on every delivery), unless RENEWALS_WEBHOOKS_ALLOW_PRIVATE is set."
    ),
]
EventTypes = Annotated[
    list[WebhookEventType],
    Field(
        min_length=1,
        max_length=len(WebhookEventType),
        description="Each type at most once",
        json_schema_extra={"uniqueItems": True},
    ),
]
DeliveryStatus = Literal["pending", "delivered", "failed"]


def _unique(types: list[WebhookEventType]) -> list[WebhookEventType]:
    if len(set(types)) != len(types):
        raise ValueError("lists an event type more than once")
    return types


class WebhookSubscriptionCreate(InputModel):
    url: WebhookUrl
    event_types: EventTypes
    partner_id: uuid.UUID | None = Field(
        default=None, description="Only notifications about this partner's contracts and tasks"
    )
    enabled: bool = True

    @field_validator("event_types")
    @classmethod
    def _unique_types(cls, types: list[WebhookEventType]) -> list[WebhookEventType]:
        return _unique(types)


class WebhookSubscriptionUpdate(UpdateModel):
    """`partner_id: null` removes the partner filter; `enabled: true` re-enables a
    subscription that was disabled (by hand, or by an endpoint that answered 410)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"partner_id"})

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    partner_id: uuid.UUID | None = None
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _unique_types(cls, types: list[WebhookEventType] | None) -> list[WebhookEventType] | None:
        return None if types is None else _unique(types)


class WebhookSubscriptionRead(OutputModel):
    id: uuid.UUID
    url: str
    event_types: list[WebhookEventType]
    partner_id: uuid.UUID | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled automatically, if so")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries are also signed with the secret before the last rotation"
    )
    created_at: datetime
    updated_at: datetime


class WebhookSubscriptionWithSecret(WebhookSubscriptionRead):
    secret: str = Field(
        description="The `whsec_…` signing secret. Shown only in this answer: store it now"
    )


class WebhookSubscriptionPage(OutputModel):
    items: list[WebhookSubscriptionRead]
    next_cursor: str | None


class WebhookDeliveryRead(OutputModel):
    """One notification owed to a subscription. Its `id` is the `webhook-id` header of
    every attempt."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str = Field(description="The notification's CloudEvent `id`")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="HTTP status of the last attempt")
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, if pending")
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryPage(OutputModel):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None
