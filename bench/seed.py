"""Bulk rows for the HTTP and latency suites: one account per contract, inserted in a
few statements (the suites measure the events sent afterwards, not this set-up)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import insert

from shared.db import Database
from shared.domain.auth.service import create_key, parse_scopes
from shared.ids import new_id
from shared.models import Account, Contract, ContractTerm

CHUNK = 5_000


async def contracts(db: Database, count: int, *, start: date, end: date) -> list[uuid.UUID]:
    """`count` active one-term contracts of 100 seats, each on an account of its own;
    answers the contract ids."""
    ids: list[uuid.UUID] = []
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        account_ids = [new_id() for _ in range(size)]
        contract_ids = [new_id() for _ in range(size)]
        accounts = [
            {"id": account_id, "name": f"Bench {first + i}"}
            for i, account_id in enumerate(account_ids)
        ]
        rows = [
            {
                "id": contract_id,
                "account_id": account_id,
                "start_date": start,
                "end_date": end,
                "arr_minor": 1_200_000,
                "seats": 100,
            }
            for account_id, contract_id in zip(account_ids, contract_ids, strict=True)
        ]
        terms = [
            {
                "contract_id": contract_id,
                "number": 1,
                "start_date": start,
                "end_date": end,
                "arr_minor": 1_200_000,
            }
            for contract_id in contract_ids
        ]
        async with db.transaction() as session:
            await session.execute(insert(Account), accounts)
            await session.execute(insert(Contract), rows)
            await session.execute(insert(ContractTerm), terms)
        ids.extend(contract_ids)
    return ids


async def api_key(db: Database) -> str:
    """A fresh key with the write scope, as `renewals apikey create` makes one."""
    async with db.transaction() as session:
        _, plain = await create_key(session, name="bench", scopes=parse_scopes(["write"]))
    return plain
