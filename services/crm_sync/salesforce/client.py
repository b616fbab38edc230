"""Salesforce's REST API over httpx: the client-credentials token, and every answer
turned into data or a `CrmCallFailed` the sync engine knows how to retry.

The token comes from `{My Domain}/services/oauth2/token` (OAuth 2.0 client-credentials
flow of a connected app, run as its "Run As" user). Salesforce sends no lifetime with
it: it is kept until a call answers 401, then fetched again once and the call repeated.
Limits: the org's API request limit answers 403 `REQUEST_LIMIT_EXCEEDED` (and a few
endpoints 429); both pause the sync for `Retry-After` or a default, like a 429.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import SecretStr

from services.crm_sync.connector import CrmCallFailed

API_VERSION = "v62.0"
LIMIT_PAUSE_SECONDS = 300.0
"""The pause after REQUEST_LIMIT_EXCEEDED without `Retry-After`: the limit is counted
over a rolling 24 hours, so retrying at once only spends what frees up."""
RATE_PAUSE_SECONDS = 30.0
"""The pause after a 429 without `Retry-After`."""


def _errors(response: httpx.Response) -> tuple[set[str], str]:
    """Salesforce's error codes and a sentence: the REST API answers a list of
    `{errorCode, message}`, the token endpoint `{error, error_description}`."""
    try:
        body = response.json()
    except ValueError:
        return set(), response.text[:300] or response.reason_phrase
    items = body if isinstance(body, list) else [body]
    codes: set[str] = set()
    parts: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = str(item.get("errorCode") or item.get("error") or "")
        message = str(item.get("message") or item.get("error_description") or "")
        codes.add(code)
        parts.append(f"{code}: {message}" if code else message)
    return codes, "; ".join(parts) or response.reason_phrase


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return default


def read(response: httpx.Response, doing: str, key: str) -> Any:
    """`key` of a JSON object answer. Anything else (a proxy's HTML page) fails the call
    as retryable rather than breaking the sync."""
    try:
        body = response.json()
        return body[key]
    except (ValueError, KeyError, TypeError):
        raise CrmCallFailed(
            f"Salesforce's answer to {doing} is not JSON with {key!r}: {response.text[:200]!r}"
        ) from None


def failure(response: httpx.Response, doing: str) -> CrmCallFailed:
    """429 and REQUEST_LIMIT_EXCEEDED pause, other 4xx are permanent, 5xx retryable."""
    codes, detail = _errors(response)
    message = f"Salesforce answered {response.status_code} to {doing}: {detail}"
    if response.status_code == 429:
        return CrmCallFailed(message, retry_after=_retry_after(response, RATE_PAUSE_SECONDS))
    if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
        return CrmCallFailed(message, retry_after=_retry_after(response, LIMIT_PAUSE_SECONDS))
    return CrmCallFailed(message, permanent=response.status_code < 500)


class SalesforceClient:
    """One org's REST API, authenticated as the connected app."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        timeout: float,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = httpx.AsyncClient(timeout=timeout)
        self._token: str | None = None
        self._instance_url = self._base_url
        self._token_lock = asyncio.Lock()

    async def _fetch_token(self) -> str:
        try:
            response = await self._http.post(
                f"{self._base_url}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret.get_secret_value(),
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise CrmCallFailed(f"Salesforce's token endpoint is unreachable: {exc!r}") from exc
        doing = "the client-credentials token request"
        if not response.is_success:
            raise failure(response, doing)
        token = str(read(response, doing, "access_token"))
        self._instance_url = str(read(response, doing, "instance_url")).rstrip("/")
        return token

    async def token(self, *, stale: str | None = None) -> str:
        """The cached token; a new one when there is none or `stale` is the cached one
        (so concurrent calls that all met a 401 fetch one token between them)."""
        async with self._token_lock:
            if self._token is None or self._token == stale:
                self._token = await self._fetch_token()
            return self._token

    async def _send(
        self, method: str, url: str, token: str, doing: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                f"{self._instance_url}{url}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise CrmCallFailed(f"Salesforce is unreachable ({doing}): {exc!r}") from exc

    async def call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """`path` below `/services/data/<version>/`, or a `nextRecordsUrl` (absolute
        path). A 401 fetches a new token and repeats the call once."""
        url = path if path.startswith("/services/") else f"/services/data/{API_VERSION}/{path}"
        token = await self.token()
        response = await self._send(method, url, token, doing, json=json, params=params)
        if response.status_code == 401:
            token = await self.token(stale=token)
            response = await self._send(method, url, token, doing, json=json, params=params)
        if not response.is_success:
            raise failure(response, doing)
        return response

    async def query(self, soql: str, *, doing: str) -> list[dict[str, Any]]:
        """Every record the query matches, following `nextRecordsUrl` page by page."""
        response = await self.call("GET", "query", params={"q": soql}, doing=doing)
        records: list[dict[str, Any]] = list(read(response, doing, "records"))
        while not read(response, doing, "done"):
            next_page = str(read(response, doing, "nextRecordsUrl"))
            response = await self.call("GET", next_page, doing=doing)
            records.extend(read(response, doing, "records"))
        return records

    async def aclose(self) -> None:
        await self._http.aclose()
