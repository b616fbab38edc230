"""Signing in to the console as a browser would: a cookie jar per client, the CSRF token
read from the page's forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.api import Harness

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSET = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def browser(api: Harness, base_url: str = "http://test") -> httpx.AsyncClient:
    """A client without the harness's API key: only the console's cookie identifies it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=base_url)


@asynccontextmanager
async def signed_in(
    api: Harness, scopes: str, name: str = "console"
) -> AsyncIterator[httpx.AsyncClient]:
    key = await api.new_key(scopes, name=name)
    async with browser(api) as client:
        response = await client.post("/console/sign-in", data={"api_key": key})
        assert response.status_code == 303, response.text
        yield client


def csrf_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match[1]


def external_references(html: str) -> list[str]:
    """Attributes that would make the browser fetch or go to another origin."""
    return [m.group(0) for m in _ASSET.finditer(html)]
