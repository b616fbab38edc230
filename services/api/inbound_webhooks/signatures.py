"""Signature checks on the raw body, before anything parses it.

A change to the bytes, the headers or the clock window is a 401 here, so no parser ever
sees an unauthenticated body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shared.domain.inbound_webhooks.errors import InvalidSignature, WebhookNotConfigured

TOLERANCE = timedelta(minutes=5)
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
HUBSPOT_SIGNATURE = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP = "x-hubspot-request-timestamp"

# HubSpot decodes exactly these escapes in the URI before signing; every other escape
# (`%20`, `%26`, `%3D`, ...) stays as sent.
_HUBSPOT_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_HUBSPOT_ESCAPE = re.compile("|".join(_HUBSPOT_DECODED), re.IGNORECASE)
_MILLISECONDS = re.compile(r"[0-9]{1,15}")


def verify_standard(body: bytes, headers: Mapping[str, str], secrets: Sequence[SecretStr]) -> str:
    """Standard Webhooks: any configured secret may match (rotation). Returns the
    verified `webhook-id`, the delivery's dedupe key."""
    if not secrets:
        raise WebhookNotConfigured(
            "set RENEWALS_INBOUND_GENERIC_SECRETS to the whsec_ secret(s) the sender signs with"
        )
    signed = {name: headers.get(name, "") for name in STANDARD_HEADERS}
    reason = "no signature matches a configured secret"
    for secret in secrets:
        try:
            Webhook(secret.get_secret_value()).verify(body, signed, json_parse=False)
        except WebhookVerificationError as exc:
            reason = str(exc)
        except ValueError:
            # The library raises bare ValueErrors for a signature without "v1," or with
            # bad base64, and for a body that is not UTF-8: unsigned, whatever the secret.
            raise InvalidSignature(
                "the webhook-signature header or the body is malformed"
            ) from None
        else:
            return signed["webhook-id"]
    raise InvalidSignature(f"Standard Webhooks verification failed: {reason}")


def hubspot_uri(base_url: str, raw_path: str, query: str) -> str:
    """The URI HubSpot signed: the public base URL (the request's own scheme and host come
    from the Host header and the proxies, which a sender controls), then the path and
    query as sent, with HubSpot's short list of escapes decoded."""
    uri = base_url.rstrip("/") + raw_path + (f"?{query}" if query else "")
    return _HUBSPOT_ESCAPE.sub(lambda match: _HUBSPOT_DECODED[match.group().upper()], uri)


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), HubSpot v3."""
    message = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hubspot(
    secrets: Sequence[SecretStr],
    base_url: str | None,
    *,
    method: str,
    raw_path: str,
    query: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> None:
    """HubSpot v3, with its 5-minute window applied both ways (a timestamp far in the
    future is as an old one); any configured secret may match (rotation)."""
    if not secrets or base_url is None:
        raise WebhookNotConfigured(
            "set RENEWALS_HUBSPOT_CLIENT_SECRET to the app's client secret and"
            " RENEWALS_PUBLIC_BASE_URL to the URL HubSpot calls"
        )
    signature = headers.get(HUBSPOT_SIGNATURE)
    timestamp = headers.get(HUBSPOT_TIMESTAMP, "")
    if not signature or not _MILLISECONDS.fullmatch(timestamp):
        raise InvalidSignature(
            "send X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp (milliseconds)"
        )
    age_ms = now.timestamp() * 1000 - int(timestamp)
    if abs(age_ms) > TOLERANCE.total_seconds() * 1000:
        raise InvalidSignature("X-HubSpot-Request-Timestamp is more than 5 minutes away")
    uri = hubspot_uri(base_url, raw_path, query)
    matches = [
        hmac.compare_digest(
            hubspot_signature(secret.get_secret_value(), method, uri, body, timestamp).encode(),
            signature.encode(),
        )
        for secret in secrets
    ]
    if not any(matches):
        raise InvalidSignature("X-HubSpot-Signature-v3 does not match the request")
