"""Webhook subscriptions and their delivery logs (admin only).

Secrets are generated here and returned once (at creation and by each rotation); reads
never show them, and the database holds them sealed (`shared/secret_box.py`). A
rotation keeps the previous secret signing for `ROTATION_GRACE`, so receivers can
switch at their own pace; a second rotation within that time drops the oldest secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.config import Settings
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.pagination import fetch_page
from shared.domain.partners.service import get_partner
from shared.domain.webhook_subscriptions.schemas import (
    WebhookSubscriptionCreate,
    WebhookSubscriptionUpdate,
)
from shared.domain.webhook_subscriptions.signing import new_secret
from shared.domain.webhook_subscriptions.url_guard import RefusedUrl, check_url
from shared.models import WebhookDelivery, WebhookSubscription

ROTATION_GRACE = timedelta(hours=24)


async def _checked_url(url: object, settings: Settings) -> str:
    text = str(url)
    try:
        await check_url(text, allow_private=settings.webhooks_allow_private)
    except RefusedUrl as exc:
        raise InvalidInput(str(exc), field="url") from exc
    return text


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID
) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"webhook subscription {subscription_id} does not exist", field="id")
    return subscription


async def create_subscription(
    session: AsyncSession, settings: Settings, body: WebhookSubscriptionCreate
) -> tuple[WebhookSubscription, str]:
    """The subscription and its secret in clear, which is never stored and cannot be
    shown again."""
    url = await _checked_url(body.url, settings)
    if body.partner_id is not None:
        await get_partner(session, body.partner_id, field="partner_id")
    secret = new_secret()
    subscription = WebhookSubscription(
        url=url,
        event_types=[str(t) for t in body.event_types],
        partner_id=body.partner_id,
        enabled=body.enabled,
        secret=settings.secret_box().seal(secret),
    )
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def update_subscription(
    session: AsyncSession,
    settings: Settings,
    subscription_id: uuid.UUID,
    body: WebhookSubscriptionUpdate,
) -> WebhookSubscription:
    subscription = await get_subscription(session, subscription_id)
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        subscription.url = await _checked_url(body.url, settings)
    if "event_types" in changes:
        subscription.event_types = [str(t) for t in body.event_types or []]
    if "partner_id" in changes:
        if body.partner_id is not None:
            await get_partner(session, body.partner_id, field="partner_id")
        subscription.partner_id = body.partner_id
    if body.enabled is not None:
        subscription.enabled = body.enabled
        if body.enabled:
            subscription.disabled_reason = None
    await session.flush()
    return subscription


async def delete_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Its delivery log goes with it (ON DELETE CASCADE); attempts in flight are not
    recorded."""
    await session.delete(await get_subscription(session, subscription_id))
    await session.flush()


async def rotate_secret(
    session: AsyncSession, settings: Settings, subscription_id: uuid.UUID
) -> tuple[WebhookSubscription, str]:
    """Like creation, returns the new secret in clear, once."""
    subscription = await get_subscription(session, subscription_id)
    secret = new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = utcnow() + ROTATION_GRACE
    subscription.secret = settings.secret_box().seal(secret)
    await session.flush()
    return subscription, secret


async def list_subscriptions(
    session: AsyncSession, *, enabled: bool | None, limit: int, cursor: str | None
) -> tuple[Sequence[WebhookSubscription], str | None]:
    query = select(WebhookSubscription)
    if enabled is not None:
        query = query.where(WebhookSubscription.enabled.is_(enabled))
    return await fetch_page(session, query, WebhookSubscription.id, limit=limit, cursor=cursor)


async def list_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[WebhookDelivery], str | None]:
    """Oldest first, like every list (ids are time-ordered)."""
    await get_subscription(session, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return await fetch_page(session, query, WebhookDelivery.id, limit=limit, cursor=cursor)


async def redeliver(
    session: AsyncSession,
    settings: Settings,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> WebhookDelivery:
    """Makes the delivery due now, with a fresh retry window and the same `webhook-id`
    (receivers that already processed it recognise it). An attempt in flight loses its
    claim: its outcome is not recorded, and the delivery goes out again."""
    subscription = await get_subscription(session, subscription_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound(
            f"delivery {delivery_id} of subscription {subscription_id} does not exist",
            field="delivery_id",
        )
    if not subscription.enabled:
        raise Conflict("the subscription is disabled: enable it first (PATCH enabled: true)")
    now = utcnow()
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.retry_until = now + timedelta(seconds=settings.webhooks_retry_window_seconds)
    delivery.claimed_by = None
    delivery.delivered_at = None
    await session.flush()
    return delivery
