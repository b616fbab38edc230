"""Outbound webhook tests: the app with short retry settings, a real local endpoint,
and senders and dispatchers run in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.outbound_webhooks.dispatcher import OutboxDispatcher
from services.outbound_webhooks.sender import Sender
from shared.config import Settings
from tests.outbound_webhooks.receiver import Receiver
from tests.support.api import Harness, open_harness
from tests.support.broker import kafka_broker  # noqa: F401

FAST = {
    "webhooks_allow_private": True,
    "webhooks_timeout_seconds": 2.0,
    "webhooks_retry_initial_seconds": 0.05,
    "webhooks_retry_max_interval_seconds": 0.2,
    "webhooks_poll_seconds": 0.02,
    "worker_poll_seconds": 0.02,
    "worker_max_backoff_seconds": 0.1,
    "scheduler_interval_seconds": 0,
}


@pytest.fixture
async def hooks(db_url: str) -> AsyncIterator[Harness]:
    """The API (admin key) with short webhook settings; private URLs allowed."""
    async with open_harness(db_url, **FAST) as harness:
        yield harness


@pytest.fixture
async def endpoints() -> AsyncIterator[Callable[[], Awaitable[Receiver]]]:
    """Starts as many local endpoints as a test asks for; all stopped afterwards."""
    started: list[Receiver] = []

    async def start() -> Receiver:
        endpoint = Receiver()
        await endpoint.start()
        started.append(endpoint)
        return endpoint

    yield start
    for endpoint in started:
        await endpoint.stop()


@pytest.fixture
async def receiver(endpoints: Callable[[], Awaitable[Receiver]]) -> Receiver:
    return await endpoints()


def settings_of(harness: Harness, **overrides: Any) -> Settings:
    return harness.settings.model_copy(update=overrides)


@asynccontextmanager
async def running(*loops: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """The loops run in the background for the block, then are stopped gracefully."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop(stop)) for loop in loops]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)


@asynccontextmanager
async def delivering(harness: Harness, **overrides: Any) -> AsyncIterator[Sender]:
    """The embedded dispatcher and a sender, as `renewals worker` runs them."""
    settings = settings_of(harness, **overrides)
    sender = Sender(harness.db, settings)
    dispatcher = OutboxDispatcher(harness.db, settings, on_deliveries=sender.wake)
    async with running(dispatcher.run, sender.run):
        yield sender
