"""Portfolios for the report tests, written through the ORM so every date and term is
exactly what the hand-computed expectations assume (no plan, no events, no clock)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

from shared.db import Database
from shared.models import Account, Checkpoint, Contract, ContractTerm, Partner, Task
from tests.support.factories import make_task

Term = tuple[date, date, int]  # start, end, ARR in major units


async def contract(
    db: Database,
    account: Account,
    *terms: Term,
    partner: Partner | None = None,
    **overrides: Any,
) -> Contract:
    """A contract with the given consecutive terms (ARR in major units, USD); the contract
    row copies the first start and the last term's end and ARR, as the service keeps it.
    Its partner is `partner` (direct without one, whatever the account's)."""
    values: dict[str, Any] = {
        "account_id": account.id,
        "partner_id": partner.id if partner else None,
        "start_date": terms[0][0],
        "end_date": terms[-1][1],
        "arr_minor": terms[-1][2] * 100,
        "seats": 10,
    } | overrides
    row = Contract(**values)
    row.terms = [
        ContractTerm(number=n, start_date=start, end_date=end, arr_minor=arr * 100)
        for n, (start, end, arr) in enumerate(terms, start=1)
    ]
    async with db.transaction() as session:
        session.add(row)
    return row


def churned(on: date, reason: str = "price") -> dict[str, Any]:
    return {"status": "churned", "churned_on": on, "churn_reason": reason}


async def make_checkpoint(
    db: Database, contract_row: Contract, opens_on: date, status: str = "planned"
) -> Checkpoint:
    row = Checkpoint(
        contract_id=contract_row.id,
        term=1,
        kind="mid_term_review",
        ordinal=int(uuid.uuid4().int % 1_000_000),
        due_date=opens_on,
        opens_on=opens_on,
        status=status,
    )
    async with db.transaction() as session:
        session.add(row)
    return row


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def done_task(db: Database, contract_row: Contract, kind: str, term: int) -> Task:
    return await make_task(db, contract_row, kind=kind, term=term, status="done")


def as_cells(item: dict[str, Any]) -> dict[str, str]:
    """A flat JSON row as its CSV cells: null empty, booleans lower-case."""
    return {
        key: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in item.items()
    }
