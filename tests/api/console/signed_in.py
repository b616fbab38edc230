"""A console session in the API harness: a client signed in with a key of the given
scopes, and the CSRF token its pages carry."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.api import Harness

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def console_as(api: Harness, scopes: str) -> AsyncIterator[httpx.AsyncClient]:
    key = await api.new_key(scopes, name=f"console {scopes}")
    async with api.as_key(None) as client:
        signed = await client.post("/console/sign-in", data={"api_key": key})
        assert signed.status_code == 303, signed.text
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, "the page carries no CSRF token"
    return found[1]
