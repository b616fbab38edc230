"""Deliveries signed the way senders sign them, and the row counts tests compare."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from shared.models import Account, Contract, InboxKey, OutboxEvent, Stakeholder
from tests.support.api import Harness

SECRET_OLD = "whsec_" + base64.b64encode(b"old secret, still valid for 24h").decode()
SECRET_NEW = "whsec_" + base64.b64encode(b"the freshly rotated secret....").decode()
SECRET_FOREIGN = "whsec_" + base64.b64encode(b"a secret nobody configured here").decode()
HUBSPOT_SECRET = "a1b2c3d4-hubspot-client-secret"
HUBSPOT_SECRET_NEW = "e5f6a7b8-rotated-hubspot-client-secret"
PUBLIC_BASE_URL = "https://renewals.example.com"
"""What HubSpot calls; the test client's requests arrive with `Host: test`."""
HUBSPOT_URI = f"{PUBLIC_BASE_URL}/v1/webhooks/hubspot"

TABLES = (Account, Contract, Stakeholder, OutboxEvent, InboxKey)


def standard_headers(
    body: bytes, secret: str = SECRET_NEW, *, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """Signed with the Standard Webhooks reference library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
        "content-type": "application/json",
    }


def hubspot_headers(
    body: bytes, uri: str = HUBSPOT_URI, *, secret: str = HUBSPOT_SECRET, at_ms: int | None = None
) -> dict[str, str]:
    """HubSpot's documented v3 recipe: base64(HMAC-SHA256(client secret, method + URI +
    body + timestamp)), the timestamp in milliseconds."""
    timestamp = str(at_ms if at_ms is not None else int(time.time() * 1000))
    source = ("POST" + uri + body.decode() + timestamp).encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), source, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": timestamp,
        "content-type": "application/json",
    }


def cloudevent(type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": extra.pop("id", uuid.uuid4().hex),
        "source": "urn:crm:acme",
        "type": type,
        "time": "2026-03-01T09:00:00+00:00",
        "data": data,
    } | extra


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


async def counts(api: Harness) -> dict[str, int]:
    return {model.__tablename__: await api.count(model) for model in TABLES}
