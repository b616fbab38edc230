"""Outbound webhook subscriptions (admin scope): CRMs and partners receive signed
notifications — `task.created`, `task.updated`, `contract.health_changed`,
`contract.forecast_changed`, `contract.renewed`, `contract.churned` — at their URL."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.api.deps import Admin, SessionDep, SettingsDep
from services.api.idempotency import NO_STORE
from services.api.openapi import problems
from shared.domain.schemas import Cursor, Limit
from shared.domain.webhook_subscriptions import service
from shared.domain.webhook_subscriptions.schemas import (
    DeliveryStatus,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookSubscriptionCreate,
    WebhookSubscriptionPage,
    WebhookSubscriptionRead,
    WebhookSubscriptionUpdate,
    WebhookSubscriptionWithSecret,
)
from shared.models import WebhookSubscription

router = APIRouter(prefix="/v1/webhook-subscriptions", tags=["webhook subscriptions"])


@router.post(
    "",
    status_code=201,
    response_model=WebhookSubscriptionWithSecret,
    responses=problems(404, r404="`partner_id` names no partner"),
)
async def create_subscription(
    _principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    body: WebhookSubscriptionCreate,
    response: Response,
) -> WebhookSubscriptionWithSecret:
    """The answer carries the signing `secret`, shown only here: it is sent with
    `Cache-Control: no-store`, and a retry with the same `Idempotency-Key` gets 409
    instead of a replay (the secret is not kept to replay it)."""
    subscription, secret = await service.create_subscription(session, settings, body)
    return _with_secret(subscription, secret, response)


@router.get("", response_model=WebhookSubscriptionPage)
async def list_subscriptions(
    _principal: Admin,
    session: SessionDep,
    enabled: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> WebhookSubscriptionPage:
    rows, next_cursor = await service.list_subscriptions(
        session, enabled=enabled, limit=limit, cursor=cursor
    )
    return WebhookSubscriptionPage(
        items=[WebhookSubscriptionRead.model_validate(row) for row in rows],
        next_cursor=next_cursor,
    )


@router.get("/{subscription_id}", response_model=WebhookSubscriptionRead)
async def get_subscription(
    _principal: Admin, session: SessionDep, subscription_id: uuid.UUID
) -> WebhookSubscriptionRead:
    return WebhookSubscriptionRead.model_validate(
        await service.get_subscription(session, subscription_id)
    )


@router.patch("/{subscription_id}", response_model=WebhookSubscriptionRead)
async def update_subscription(
    _principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    subscription_id: uuid.UUID,
    body: WebhookSubscriptionUpdate,
) -> WebhookSubscriptionRead:
    subscription = await service.update_subscription(session, settings, subscription_id, body)
    return WebhookSubscriptionRead.model_validate(subscription)


@router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(
    _principal: Admin, session: SessionDep, subscription_id: uuid.UUID
) -> Response:
    """Deletes the subscription and its delivery log; nothing more is sent."""
    await service.delete_subscription(session, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", response_model=WebhookSubscriptionWithSecret)
async def rotate_secret(
    _principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    subscription_id: uuid.UUID,
    response: Response,
) -> WebhookSubscriptionWithSecret:
    """A new secret, shown only in this answer (`Cache-Control: no-store`, not
    replayed). For 24 h deliveries carry signatures with both the new and the previous
    secret (`previous_secret_expires_at`)."""
    subscription, secret = await service.rotate_secret(session, settings, subscription_id)
    return _with_secret(subscription, secret, response)


def _with_secret(
    subscription: WebhookSubscription, secret: str, response: Response
) -> WebhookSubscriptionWithSecret:
    response.headers["Cache-Control"] = NO_STORE
    read = WebhookSubscriptionRead.model_validate(subscription)
    return WebhookSubscriptionWithSecret(**read.model_dump(), secret=secret)


@router.get("/{subscription_id}/deliveries", response_model=WebhookDeliveryPage)
async def list_deliveries(
    _principal: Admin,
    session: SessionDep,
    subscription_id: uuid.UUID,
    status: DeliveryStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> WebhookDeliveryPage:
    """The delivery log, oldest first; finished deliveries are kept for
    `RENEWALS_WEBHOOKS_DELIVERY_RETENTION_DAYS`."""
    rows, next_cursor = await service.list_deliveries(
        session, subscription_id, status=status, limit=limit, cursor=cursor
    )
    return WebhookDeliveryPage(
        items=[WebhookDeliveryRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=WebhookDeliveryRead,
    responses=problems(409, r409="the subscription is disabled"),
)
async def redeliver(
    _principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> WebhookDeliveryRead:
    """Sends the delivery again soon, with the same `webhook-id`, whatever became of it;
    409 while the subscription is disabled."""
    delivery = await service.redeliver(session, settings, subscription_id, delivery_id)
    return WebhookDeliveryRead.model_validate(delivery)
