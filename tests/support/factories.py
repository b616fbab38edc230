"""Rows written straight through the ORM, for tests that need parents without their routes,
and small read helpers for what tests assert on.

Each factory commits its own transaction and emits no events, so tests that count
outbox rows see only what the code under test wrote.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from shared.db import Database
from shared.domain.auth.service import hash_key
from shared.models import Account, ApiKey, Contract, ContractTerm, OutboxEvent, Partner, Task


async def make_partner(db: Database, **overrides: Any) -> Partner:
    partner = Partner(**({"name": "Reseller Ltd", "tier": "gold"} | overrides))
    async with db.transaction() as session:
        session.add(partner)
    return partner


async def make_account(db: Database, **overrides: Any) -> Account:
    values: dict[str, Any] = {
        "name": "Acme Corp",
        "owner": "am@vendor.example",
        "fiscal_year_start_month": 1,
    }
    account = Account(**(values | overrides))
    async with db.transaction() as session:
        session.add(account)
    return account


async def make_contract(db: Database, account: Account, **overrides: Any) -> Contract:
    """A contract with its term 1, which copies the contract's dates and ARR."""
    values: dict[str, Any] = {
        "account_id": account.id,
        "partner_id": account.partner_id,
        "start_date": date(2026, 3, 15),
        "end_date": date(2027, 3, 15),
        "arr_minor": 2_400_000,
        "seats": 50,
    } | overrides
    contract = Contract(**values)
    contract.terms = [
        ContractTerm(
            number=1,
            start_date=contract.start_date,
            end_date=contract.end_date,
            arr_minor=contract.arr_minor,
        )
    ]
    async with db.transaction() as session:
        session.add(contract)
    return contract


async def make_task(db: Database, contract: Contract, **overrides: Any) -> Task:
    """An open task on the contract's account and partner, with a unique dedupe key."""
    values: dict[str, Any] = {
        "contract_id": contract.id,
        "account_id": contract.account_id,
        "partner_id": contract.partner_id,
        "kind": "kickoff",
        "title": "Kick-off call",
        "description": "Meet the customer's team and agree the goals.",
        "due_date": date(2026, 3, 18),
        "priority": "normal",
        "owner": "am@vendor.example",
        "dedupe_key": f"test:{uuid.uuid4()}",
    } | overrides
    task = Task(**values)
    async with db.transaction() as session:
        session.add(task)
    return task


async def outbox_rows(db: Database) -> list[OutboxEvent]:
    """Every outbox row in id order, with the columns `Harness.events` leaves out."""
    async with db.read() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def actor_of(db: Database, client: httpx.AsyncClient) -> str:
    """The `actor` events carry for calls made with this client's API key: the key's id."""
    token = client.headers["authorization"].removeprefix("Bearer ")
    async with db.read() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(token)))
    assert key_id is not None
    return str(key_id)
