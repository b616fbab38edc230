"""Times each report on a generated portfolio (not a test; run by hand):

    .venv/bin/python -m tests.api.reports.bench sqlite+aiosqlite:////tmp/bench.db 10000
    .venv/bin/python -m tests.api.reports.bench postgresql+asyncpg://postgres@host/bench 10000

The database must be migrated and empty. Every contract gets two terms, a done and an
open task and two planned checkpoints; a tenth churn, a tenth have partners.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.reports import service
from shared.db import Database
from shared.models import Account, Checkpoint, Contract, ContractTerm, Partner, Task

AS_OF = date(2026, 6, 1)


async def populate(db: Database, contracts: int) -> None:
    rng = random.Random(6)
    partners = [
        {"id": uuid.uuid4(), "name": f"P{i}", "tier": rng.choice(["silver", "gold", None])}
        for i in range(20)
    ]
    accounts = [
        {
            "id": uuid.uuid4(),
            "name": f"A{i}",
            "owner": f"am{i % 25}@vendor.example",
            "partner_id": rng.choice(partners)["id"] if i % 10 == 0 else None,
        }
        for i in range(contracts // 2)
    ]
    rows: dict[str, list[dict[str, Any]]] = {"c": [], "t": [], "task": [], "cp": []}
    for i in range(contracts):
        account = accounts[i % len(accounts)]
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
        mid, end = start + timedelta(days=365), start + timedelta(days=730)
        arr1, arr2 = rng.randrange(1, 200) * 100_000, rng.randrange(1, 200) * 100_000
        cid = uuid.uuid4()
        churn = i % 10 == 0
        rows["c"].append(
            {
                "id": cid,
                "account_id": account["id"],
                "partner_id": account["partner_id"],
                "start_date": start,
                "end_date": end,
                "arr_minor": arr2,
                "auto_renew": False,
                "notice_period_days": 30,
                "status": "churned" if churn else "active",
                "churned_on": mid + timedelta(days=30) if churn else None,
                "churn_reason": "price" if churn else None,
                "health_score": 50,
                "health_band": rng.choice(["green", "yellow", "red"]),
                "health_signals": [],
                "external_ids": {},
            }
        )
        rows["t"] += [
            {"id": uuid.uuid4(), "contract_id": cid, "number": 1, "start_date": start,
             "end_date": mid, "arr_minor": arr1},
            {"id": uuid.uuid4(), "contract_id": cid, "number": 2, "start_date": mid,
             "end_date": end, "arr_minor": arr2},
        ]  # fmt: skip
        for status, kind in (("done", "renewal_outreach"), ("open", "kickoff")):
            rows["task"].append(
                {"id": uuid.uuid4(), "contract_id": cid, "account_id": account["id"],
                 "term": 2, "kind": kind, "title": "t", "description": "d",
                 "due_date": end, "priority": "normal", "owner": account["owner"],
                 "status": status, "dedupe_key": str(uuid.uuid4())}
            )  # fmt: skip
        for ordinal in range(2):
            rows["cp"].append(
                {"id": uuid.uuid4(), "contract_id": cid, "term": 2, "kind": "mid_term_review",
                 "ordinal": ordinal, "due_date": end, "status": "planned",
                 "opens_on": end - timedelta(days=60 * ordinal)}
            )  # fmt: skip
    async with db.transaction() as session:
        await session.execute(insert(Partner), partners)
        await session.execute(insert(Account), accounts)
        for model, key in (
            (Contract, "c"),
            (ContractTerm, "t"),
            (Task, "task"),
            (Checkpoint, "cp"),
        ):
            batch = rows[key]
            for at in range(0, len(batch), 2000):
                await session.execute(insert(model), batch[at : at + 2000])


async def main(url: str, contracts: int) -> None:
    db = Database(url)
    try:
        await populate(db, contracts)
        reports: dict[str, Callable[[AsyncSession], Awaitable[Any]]] = {
            "retention": lambda s: service.retention(s, AS_OF, ["business_closed"]),
            "revenue-retention": lambda s: service.revenue_retention(
                s, date(2025, 6, 1), AS_OF, "USD"
            ),
            "renewal-rate": lambda s: service.renewal_rate(
                s, date(2025, 6, 1), AS_OF, AS_OF, "USD"
            ),
            "renewals": lambda s: service.pipeline(s, AS_OF, 120, "USD"),
            "capacity": lambda s: service.capacity(s, AS_OF, 2_000_000, "USD"),
        }
        for name, run in reports.items():
            async with db.read() as session:
                began = time.perf_counter()
                report = await run(session)
                elapsed = time.perf_counter() - began
            sys.stdout.write(f"{name:18} {elapsed * 1000:8.1f} ms  {len(report.items):6} rows\n")
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
