"""Figure e's baseline for the swept day's auto-renewals: raw asyncpg writing, a batch at
a time, the rows the sweep writes for each contract that auto-renews at R — its next
term, the contract's new R and ARR with any late notice cleared, the forecasts of the
renewed term (`renewed`) and of the new one, and the `contract.renewed` event with the
contract's snapshot in the outbox and the event log. `tests/bench/test_raw_sweep.py`
checks that these are the rows the sweep writes.

The date and money rules are the product's own pure functions (`next_term_end`,
`stage_for`, `settle`, `format_minor`, `build_event`), as the checkpoint baseline builds
its events with `build_event`; the snapshot is built by hand, without pydantic.

The swept day is the day after the portfolio's: each contract at R renews once, and no
forecast is stored yet for the portfolio's terms, so none changes (the sweep would
notify a change with `contract.forecast_changed`; the baseline does not)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from services.renewal_worker.scheduler import ACTOR
from services.renewal_worker.term_ends import next_term_end
from shared.events.outbox import build_event
from shared.events.types import SOURCE_SCHEDULER, EventType, Stream, dataschema
from shared.ids import new_id
from shared.money import format_minor
from shared.rules.forecast import ENGINE, Forecast, ForecastCategory, Stored, TermFacts, settle
from shared.rules.stage import stage_for

_DUE = """
SELECT id, account_id, partner_id, start_date, end_date, pilot_start, pilot_end, trial_end,
       arr_minor, seats, auto_renew, notice_period_days, status, churned_on, churn_reason,
       health_score, health_band, health_signals, external_ids, created_at
  FROM contracts
 WHERE status <> 'churned' AND end_date <= $1 AND auto_renew
   AND (cancellation_notice_on IS NULL OR cancellation_notice_late) AND id > $2
 ORDER BY id
 LIMIT $3
   FOR UPDATE SKIP LOCKED
"""
_TERMS = """
SELECT contract_id, number, start_date, end_date, arr_minor FROM contract_terms
 WHERE contract_id = ANY($1::uuid[]) ORDER BY contract_id, number
"""
_DONE_TASKS = """
SELECT contract_id, term, kind, expected_arr_minor FROM tasks
 WHERE contract_id = ANY($1::uuid[]) AND status = 'done'
   AND kind IN ('renewal_outreach', 'expansion_opportunity')
 ORDER BY closed_at, id
"""
_STORED = """
SELECT contract_id, term, category, expected_arr_minor, overridden FROM contract_forecasts
 WHERE contract_id = ANY($1::uuid[])
"""
_TERM_INSERT = """
INSERT INTO contract_terms (id, contract_id, number, start_date, end_date, arr_minor)
VALUES ($1, $2, $3, $4, $5, $6)
"""
_CONTRACT_UPDATE = """
UPDATE contracts c
   SET end_date = u.end_date, arr_minor = u.arr_minor, cancellation_notice_on = NULL,
       cancellation_reason = NULL, cancellation_notice_late = false, updated_at = $4
  FROM unnest($1::uuid[], $2::date[], $3::bigint[]) AS u(id, end_date, arr_minor)
 WHERE c.id = u.id
"""
_FORECAST_UPSERT = """
INSERT INTO contract_forecasts
       (id, contract_id, term, category, expected_arr_minor, set_by, note, overridden, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, NULL, false, $7)
ON CONFLICT (contract_id, term) DO UPDATE
   SET category = excluded.category, expected_arr_minor = excluded.expected_arr_minor,
       set_by = excluded.set_by, note = NULL, overridden = false,
       updated_at = excluded.updated_at
"""
_OUTBOX = """
INSERT INTO outbox (stream, event_id, source, type, subject, partition_key, event, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_LOG = """
INSERT INTO event_log (event_id, type, time, actor, account_id, contract_id, subject, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


def _iso(value: date | datetime | None) -> str | None:
    """Dates and instants as the API's JSON writes them (UTC as `Z`)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _snapshot(
    row: asyncpg.Record, terms: list[tuple[int, date, date, int]], currency: str, day: date,
    updated_at: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The contract as `contract.renewed` carries it, after the renewal."""
    number, start, end, arr_minor = terms[-1]
    partner = row["partner_id"]
    return {
        "id": str(row["id"]),
        "account_id": str(row["account_id"]),
        "partner_id": str(partner) if partner else None,
        "channel": "partner" if partner else "direct",
        "start_date": _iso(row["start_date"]),
        "end_date": _iso(end),
        "pilot_start": _iso(row["pilot_start"]),
        "pilot_end": _iso(row["pilot_end"]),
        "trial_end": _iso(row["trial_end"]),
        "arr": format_minor(arr_minor, currency),
        "seats": row["seats"],
        "auto_renew": row["auto_renew"],
        "notice_period_days": row["notice_period_days"],
        "status": row["status"],
        "churned_on": _iso(row["churned_on"]),
        "churn_reason": row["churn_reason"],
        "cancellation_notice": None,
        "stage": str(
            stage_for(
                as_of=day,
                first_start=row["start_date"],
                has_pilot=row["pilot_start"] is not None,
                term_number=number,
                term_start=start,
                renewal=end,
                notice_period_days=row["notice_period_days"],
                churned=False,
            )
        ),
        "term": number,
        "terms": [
            {"number": n, "start": _iso(s), "end": _iso(e), "arr": format_minor(a, currency)}
            for n, s, e, a in terms
        ],
        "health": {
            "score": row["health_score"],
            "band": row["health_band"],
            "signals": json.loads(row["health_signals"]),
        },
        "external_ids": json.loads(row["external_ids"]),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(updated_at),
    }


async def _facts(
    connection: asyncpg.Connection, ids: list[uuid.UUID]
) -> tuple[set[tuple[uuid.UUID, int]], dict[tuple[uuid.UUID, int], int], dict[Any, Stored]]:
    """Terms whose outreach is done, the last expansion ARR per term, stored forecasts."""
    outreach: set[tuple[uuid.UUID, int]] = set()
    expansion: dict[tuple[uuid.UUID, int], int] = {}
    for task in await connection.fetch(_DONE_TASKS, ids):
        key = (task["contract_id"], task["term"])
        if task["kind"] == "renewal_outreach":
            outreach.add(key)
        elif task["expected_arr_minor"] is not None:
            expansion[key] = task["expected_arr_minor"]
    stored = {
        (row["contract_id"], row["term"]): Stored(
            Forecast(ForecastCategory(row["category"]), row["expected_arr_minor"]),
            overridden=row["overridden"],
        )
        for row in await connection.fetch(_STORED, ids)
    }
    return outreach, expansion, stored


async def renew_batch(
    connection: asyncpg.Connection,
    day: date,
    time: datetime,
    after: uuid.UUID,
    limit: int,
    currency: str,
    now: datetime,
) -> list[uuid.UUID]:
    """Renews the next `limit` contracts at R after `after` in id order, in the caller's
    transaction; answers their ids. `now` is the contracts' `updated_at`."""
    rows = await connection.fetch(_DUE, day, after, limit)
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    terms: dict[uuid.UUID, list[tuple[int, date, date, int]]] = defaultdict(list)
    for term in await connection.fetch(_TERMS, ids):
        terms[term["contract_id"]].append(
            (term["number"], term["start_date"], term["end_date"], term["arr_minor"])
        )
    outreach, expansion, stored = await _facts(connection, ids)
    new_terms: list[tuple[Any, ...]] = []
    forecasts: list[tuple[Any, ...]] = []
    outbox: list[tuple[Any, ...]] = []
    log: list[tuple[Any, ...]] = []
    ends: list[date] = []
    arrs: list[int] = []
    for row in rows:
        contract_id, arr_minor = row["id"], row["arr_minor"]
        history = terms[contract_id]
        number, start, end, old_arr = history[-1]
        renewed = (number + 1, row["end_date"], next_term_end(start, end), arr_minor)
        history.append(renewed)
        new_terms.append((new_id(), contract_id, *renewed))
        ends.append(renewed[2])
        arrs.append(arr_minor)
        for term, term_arr, successor in (
            (number, old_arr, arr_minor),
            (renewed[0], arr_minor, None),
        ):
            key = (contract_id, term)
            facts = TermFacts(
                arr_minor=term_arr, health_band=row["health_band"],
                outreach_done=key in outreach, cancellation_pending=False, churned=False,
                successor_arr_minor=successor, expansion_arr_minor=expansion.get(key),
            )  # fmt: skip
            decision = settle(stored.get(key), facts)
            if decision is not None:
                forecasts.append((new_id(), contract_id, term, str(decision.category),
                                  decision.expected_arr_minor, ENGINE, time))  # fmt: skip
        data = _snapshot(row, history, currency, time.date(), now)
        event = build_event(type=EventType.CONTRACT_RENEWED, source=SOURCE_SCHEDULER,
                            subject=data["id"], data=data, dataschema=dataschema("contract"),
                            actor=ACTOR, time=time)  # fmt: skip
        outbox.append((str(Stream.LIFECYCLE), event["id"], SOURCE_SCHEDULER, event["type"],
                       data["id"], data["account_id"], json.dumps(event), now))  # fmt: skip
        log.append((event["id"], event["type"], time, ACTOR, row["account_id"], contract_id,
                    data["id"], json.dumps(data)))  # fmt: skip
    await connection.executemany(_TERM_INSERT, new_terms)
    await connection.execute(_CONTRACT_UPDATE, ids, ends, arrs, now)
    await connection.executemany(_FORECAST_UPSERT, forecasts)
    await connection.executemany(_OUTBOX, outbox)
    await connection.executemany(_LOG, log)
    return ids
