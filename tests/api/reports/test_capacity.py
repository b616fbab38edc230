"""Capacity per account manager as of 2026-03-01 against the default 2,000,000 ARR."""

from __future__ import annotations

from datetime import date

from tests.support.api import Harness
from tests.support.factories import make_account, make_task
from tests.support.report_factories import churned, contract, csv_rows, make_checkpoint

PARAMS = {"as_of": "2026-03-01"}
TERM = (date(2026, 1, 1), date(2027, 1, 1))


async def build(api: Harness) -> None:
    db = api.db
    ann, bob = "ann@vendor.example", "bob@vendor.example"
    x = await make_account(db, name="X", owner=ann)
    big = await contract(db, x, (*TERM, 1_500_000))
    await contract(db, x, (*TERM, 700_000))
    y = await make_account(db, name="Y", owner=ann)
    await contract(db, y, (*TERM, 30_000))
    z = await make_account(db, name="Z", owner=bob)
    small = await contract(db, z, (*TERM, 50_000))
    await contract(
        db, z, (date(2025, 1, 1), date(2026, 1, 1), 99_999), **churned(date(2025, 12, 1))
    )
    w = await make_account(db, name="W", owner=bob)
    await contract(db, w, (*TERM, 2_000))
    # Tasks: ann 2 open + 1 done; bob 1 open.
    await make_task(db, big, owner=ann)
    await make_task(db, big, owner=ann)
    await make_task(db, big, owner=ann, status="done")
    await make_task(db, small, owner=bob)
    # Checkpoints opening in (2026-03-01, 2026-05-24]: two of ann's count.
    await make_checkpoint(db, big, date(2026, 3, 2))
    await make_checkpoint(db, big, date(2026, 5, 24))
    await make_checkpoint(db, big, date(2026, 5, 25))
    await make_checkpoint(db, big, date(2026, 3, 1))
    await make_checkpoint(db, big, date(2026, 4, 1), status="opened")


def segments(**counts: int) -> dict[str, int]:
    return dict.fromkeys(("enterprise", "mid_market", "growth", "scale", "self_serve"), 0) | counts


async def test_capacity_per_owner_flags_over_capacity(api: Harness) -> None:
    await build(api)

    response = await api.client.get("/v1/reports/capacity", params=PARAMS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["arr_per_manager"] == "2000000.00"
    assert body["items"] == [
        {
            "owner": "ann@vendor.example",
            "arr": "2230000.00",
            "accounts": 2,
            "capacity_ratio": 1.115,
            "over_capacity": True,
            "segments": segments(enterprise=1, mid_market=1),
            "open_tasks": 2,
            "upcoming_tasks": 2,
        },
        {
            "owner": "bob@vendor.example",
            "arr": "52000.00",
            "accounts": 2,
            "capacity_ratio": 0.026,
            "over_capacity": False,
            "segments": segments(mid_market=1, scale=1),
            "open_tasks": 1,
            "upcoming_tasks": 0,
        },
    ]

    as_csv = await api.client.get(
        "/v1/reports/capacity", params=PARAMS, headers={"Accept": "text/csv"}
    )
    rows = csv_rows(as_csv.text)
    assert rows[0]["owner"] == "ann@vendor.example"
    assert rows[0]["segments.enterprise"] == "1"
    assert rows[0]["over_capacity"] == "true"
    assert rows[1]["capacity_ratio"] == "0.026"
    assert list(rows[0]) == [
        "owner", "arr", "accounts", "capacity_ratio", "over_capacity",
        "segments.enterprise", "segments.mid_market", "segments.growth", "segments.scale",
        "segments.self_serve", "open_tasks", "upcoming_tasks",
    ]  # fmt: skip
