"""Small helpers the account and contract tests share: create through the API, read the
outbox rows with their keys, and find the harness's own API key id (the events' actor)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from shared.models import ApiKey, OutboxEvent
from tests.support.api import Harness


def days(n: int) -> str:
    """Today plus `n` days, as the API writes dates: stages depend on the wall clock."""
    return (date.today() + timedelta(days=n)).isoformat()


async def make_partner(api: Harness, name: str = "Reseller") -> dict[str, Any]:
    response = await api.client.post("/v1/partners", json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_account(api: Harness, **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/v1/accounts", json={"name": "Acme"} | fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def contract_body(account_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "start_date": "2026-03-15",
        "end_date": "2027-03-15",
        "arr": "12000.00",
    } | fields


async def make_contract(api: Harness, account_id: str, **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/v1/contracts", json=contract_body(account_id, **fields))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def outbox_rows(api: Harness) -> list[OutboxEvent]:
    async with api.db.read() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def admin_key_id(api: Harness) -> str:
    async with api.db.read() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "admin"))
    return str(key_id)


def error_fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]
