"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with the
reference library so receivers can verify with it or with any port of it."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, the format the libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(
    message_id: str, timestamp: datetime, body: str, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` (whole seconds) and `webhook-signature` with one
    `v1,` signature per secret, space-separated: during a rotation receivers holding
    either the old or the new secret can verify."""
    at = timestamp.replace(microsecond=0)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(message_id, at, body) for secret in signing_secrets
        ),
    }
