from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.inbound_webhooks.support import (
    HUBSPOT_SECRET,
    PUBLIC_BASE_URL,
    SECRET_NEW,
    SECRET_OLD,
)
from tests.support.api import Harness, open_harness


@pytest.fixture
async def hooks(db_url: str) -> AsyncIterator[Harness]:
    """The app with both inbound webhooks configured, two generic secrets (a rotation)."""
    async with open_harness(
        db_url,
        inbound_generic_secrets=f"{SECRET_OLD},{SECRET_NEW}",
        hubspot_client_secret=HUBSPOT_SECRET,
        public_base_url=PUBLIC_BASE_URL,
        hubspot_owner_emails={"9001": "maria@vendor.example"},
    ) as harness:
        yield harness
