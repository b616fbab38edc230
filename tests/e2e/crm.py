"""A CRM and an account manager driving the embedded engine through public interfaces
only: REST calls, CloudEvents on `POST /v1/events` (where the time of a change must be
controlled), and `renewals tick --as-of D --wait` — as its own process (`Crm`), or the
very same function in this process (`InProcessCrm`), which spares each tick an
interpreter start-up where the process boundary is not what a test is about."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from services.renewal_worker.ticking import tick
from tests.support.api import Harness

RENEWALS = str(Path(sys.executable).parent / "renewals")
SOURCE = "urn:e2e:crm"
OWNER = "am@vendor.example"
SECTIONS = ("**Why now:**", "**People:**", "**At stake:**", "**Steps:**", "**Done when:**")


@dataclass(frozen=True)
class Tick:
    opened: int
    renewed: int
    churned: int
    applied: int


def _count(lines: list[str], prefix: str) -> int:
    """The sum over the lines that start with `prefix` (follow-up sweeps say "N more")."""
    return sum(int(line.split()[1]) for line in lines if line.startswith(prefix))


class Crm:
    """What a CRM and an account manager do: REST calls, CloudEvents, and `renewals tick`."""

    def __init__(self, api: Harness) -> None:
        self.api = api
        self.client = api.client

    async def account(self, name: str, **fields: Any) -> str:
        body = {"name": name, "owner": OWNER, "fiscal_year_start_month": 1} | fields
        response = await self.client.post("/v1/accounts", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def send(self, type: str, time: str, data: dict[str, Any]) -> str:
        """A lifecycle CloudEvent on `POST /v1/events`; returns its id."""
        event_id = str(uuid.uuid4())
        response = await self.client.post(
            "/v1/events",
            json={
                "specversion": "1.0",
                "id": event_id,
                "source": SOURCE,
                "type": type,
                "time": time,
                "data": data,
            },
        )
        assert response.status_code == 202, response.text
        return event_id

    async def import_contract(self, account_id: str, time: str, **fields: Any) -> str:
        """`contract.created` at `time`; the worked example's dates unless overridden."""
        ref = {"crm": f"deal-{uuid.uuid4()}"}
        body = {
            "account_id": account_id,
            "start_date": "2026-03-15",
            "end_date": "2027-03-15",
            "arr": "12000",
            "seats": 100,
            "external_ids": ref,
        } | fields
        await self.send("contract.created", time, body)
        found = await self.client.get("/v1/contracts", params={"account_id": account_id})
        assert found.status_code == 200, found.text
        (contract,) = [c for c in found.json()["items"] if c["external_ids"] == ref]
        return str(contract["id"])

    async def contract(self, contract_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/contracts/{contract_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def tasks(self, **filters: str) -> list[dict[str, Any]]:
        """In creation order (the list is ordered by id)."""
        response = await self.client.get("/v1/tasks", params={"limit": 500, **filters})
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        return list(response.json()["items"])

    async def tick(self, day: date | str) -> Tick:
        """`renewals tick --as-of DAY --wait` as its own process on the same database."""
        done = await asyncio.to_thread(
            subprocess.run,
            [RENEWALS, "tick", "--as-of", str(day), "--wait", "--timeout", "60"],
            env=os.environ
            | {
                "RENEWALS_DATABASE_URL": self.api.settings.database_url,
                "RENEWALS_WORKER_POLL_SECONDS": "0.05",
            },
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        return Tick(
            opened=_count(lines, "opened "),
            renewed=_count(lines, "renewed "),
            churned=_count(lines, "churned "),
            applied=_count(lines, "applied "),
        )

    async def tick_again_adds_nothing(self, day: date | str) -> None:
        """A second tick for the same date opens, renews and churns nothing, and no task
        appears or changes."""
        before = await self.tasks()
        again = await self.tick(day)
        assert (again.opened, again.renewed, again.churned) == (0, 0, 0)
        assert await self.tasks() == before


def summary(tasks: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(kind, due date, priority, status) of each task, in creation order."""
    return [(t["kind"], t["due_date"], t["priority"], t["status"]) for t in tasks]


def one(tasks: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (task,) = [t for t in tasks if t["kind"] == kind]
    return task


def assert_playbook(task: dict[str, Any], *facts: str) -> None:
    """The five parts DESIGN §3 "Task" asks for, and the facts this task must name."""
    description = task["description"]
    for part in (*SECTIONS, *facts):
        assert part in description, f"{task['kind']}: {part!r} not in\n{description}"
    assert task["owner"] == OWNER


class InProcessCrm(Crm):
    """`Crm` whose tick runs `renewals tick --wait`'s function in this process."""

    async def tick(self, day: date | str) -> Tick:
        as_of = date.fromisoformat(str(day))
        lines: list[str] = []
        settings = self.api.settings.model_copy(update={"worker_poll_seconds": 0.01})
        done = await tick(
            settings,
            as_of,
            datetime.combine(as_of, time(0, 0), tzinfo=UTC),
            wait=True,
            timeout=60,
            echo=lines.append,
            warn=lines.append,
        )
        assert done, lines
        return Tick(
            opened=_count(lines, "opened "),
            renewed=_count(lines, "renewed "),
            churned=_count(lines, "churned "),
            applied=_count(lines, "applied "),
        )
