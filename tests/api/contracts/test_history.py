"""`GET /v1/contracts/{id}/checkpoints` and `GET /v1/contracts/{id}/timeline`."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.domain.contracts.history import TIMELINE_CURSOR_TEXT, event_summary
from shared.events.types import EventType
from shared.models import Checkpoint, Contract, EventLogEntry, Task
from tests.api.contracts.factories import error_fields, make_account, make_contract
from tests.support.api import Harness
from tests.support.factories import make_task


async def _contract_row(api: Harness, contract_id: str) -> Contract:
    async with api.db.read() as session:
        row = await session.get(Contract, uuid.UUID(contract_id))
    assert row is not None
    return row


async def _plan(api: Harness, contract_id: str, *rows: tuple[int, str, int, str, str]) -> None:
    """Checkpoint rows as the worker writes them: (term, kind, ordinal, due_date, status)."""
    async with api.db.transaction() as session:
        for term, kind, ordinal, due, status in rows:
            due_date = date.fromisoformat(due)
            session.add(
                Checkpoint(
                    contract_id=uuid.UUID(contract_id),
                    term=term,
                    kind=kind,
                    ordinal=ordinal,
                    due_date=due_date,
                    opens_on=due_date - timedelta(days=7),
                    status=status,
                )
            )


async def _get(api: Harness, url: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get(url, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- checkpoints -------------------------------------------------------------------


async def test_checkpoints_are_listed_by_term_due_date_kind_and_ordinal(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    other = await make_contract(api, account["id"])
    await _plan(
        api,
        contract["id"],
        (2, "kickoff", 0, "2027-03-18", "planned"),
        (1, "renewal_outreach", 0, "2027-01-15", "planned"),
        (1, "onsite_visit", 1, "2026-11-15", "planned"),
        (1, "kickoff", 0, "2026-03-18", "opened"),
        (1, "onsite_visit", 0, "2026-05-15", "skipped"),
        (1, "anniversary_review", 0, "2026-11-15", "cancelled"),
        (1, "mid_term_review", 0, "2026-09-13", "opened"),
    )
    await _plan(api, other["id"], (1, "kickoff", 0, "2026-03-18", "planned"))

    page = await _get(api, f"/v1/contracts/{contract['id']}/checkpoints")
    assert page["next_cursor"] is None
    assert page["items"][0] == {
        "kind": "kickoff",
        "term": 1,
        "ordinal": 0,
        "due_date": "2026-03-18",
        "opens_on": "2026-03-11",
        "status": "opened",
    }
    assert [(c["term"], c["due_date"], c["kind"], c["ordinal"]) for c in page["items"]] == [
        (1, "2026-03-18", "kickoff", 0),
        (1, "2026-05-15", "onsite_visit", 0),
        (1, "2026-09-13", "mid_term_review", 0),
        (1, "2026-11-15", "anniversary_review", 0),
        (1, "2026-11-15", "onsite_visit", 1),
        (1, "2027-01-15", "renewal_outreach", 0),
        (2, "2027-03-18", "kickoff", 0),
    ]


async def test_checkpoint_filters_by_term_and_status_combine(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    await _plan(
        api,
        contract["id"],
        (1, "kickoff", 0, "2026-03-18", "opened"),
        (1, "renewal_outreach", 0, "2027-01-15", "planned"),
        (2, "kickoff", 0, "2027-03-18", "planned"),
    )
    url = f"/v1/contracts/{contract['id']}/checkpoints"

    async def kinds(**params: Any) -> list[tuple[int, str]]:
        return [(c["term"], c["kind"]) for c in (await _get(api, url, **params))["items"]]

    assert await kinds(term=1) == [(1, "kickoff"), (1, "renewal_outreach")]
    assert await kinds(status="planned") == [(1, "renewal_outreach"), (2, "kickoff")]
    assert await kinds(term=2, status="planned") == [(2, "kickoff")]
    assert await kinds(term=3) == []

    bad = await api.client.get(url, params={"status": "done"})
    assert bad.status_code == 422
    assert error_fields(bad) == ["status"]
    assert error_fields(await api.client.get(url, params={"term": 0})) == ["term"]


async def test_a_term_filter_past_the_integer_column_is_422_not_500(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    url = f"/v1/contracts/{contract['id']}/checkpoints"
    response = await api.client.get(url, params={"term": 2**63})
    assert response.status_code == 422, response.text
    assert error_fields(response) == ["term"]


@pytest.mark.parametrize("route", ["checkpoints", "timeline"])
async def test_history_of_an_unknown_contract_is_404_naming_id(api: Harness, route: str) -> None:
    response = await api.client.get(f"/v1/contracts/{uuid.uuid4()}/{route}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert error_fields(response) == ["id"]


async def test_a_read_only_key_reads_the_history(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    async with api.as_key(await api.new_key("read")) as reader:
        for route in ("checkpoints", "timeline"):
            response = await reader.get(f"/v1/contracts/{contract['id']}/{route}")
            assert response.status_code == 200, response.text


# --- timeline ----------------------------------------------------------------------


async def _story(api: Harness) -> dict[str, Any]:
    """Account, contract, a PATCH, a stakeholder, a task opened and closed, a renewal;
    in between, a second contract of the same account with its own changes."""
    client = api.client
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    other = await make_contract(api, account["id"], arr="5000")
    patched = await client.patch(f"/v1/contracts/{contract['id']}", json={"arr": "15000"})
    assert patched.status_code == 200, patched.text
    await client.patch(f"/v1/contracts/{other['id']}", json={"seats": 3})
    added = await client.post(
        f"/v1/accounts/{account['id']}/stakeholders",
        json={"name": "Ada Lovelace", "email": "ada@customer.example", "role": "business_owner"},
    )
    assert added.status_code == 201, added.text
    task = await make_task(
        api.db,
        await _contract_row(api, contract["id"]),
        kind="renewal_outreach",
        title="Renewal outreach",
        due_date=date(2027, 1, 15),
    )
    await make_task(api.db, await _contract_row(api, other["id"]))
    closed = await client.patch(f"/v1/tasks/{task.id}", json={"status": "done", "outcome": "ok"})
    assert closed.status_code == 200, closed.text
    renewed = await client.post(
        f"/v1/contracts/{contract['id']}/renew", json={"end_date": "2028-03-15", "arr": "18000"}
    )
    assert renewed.status_code == 200, renewed.text
    return {
        "account": account,
        "contract": contract,
        "other": other,
        "stakeholder": added.json(),
        "task": task,
    }


async def test_timeline_lists_events_and_tasks_in_time_order(api: Harness) -> None:
    story = await _story(api)
    contract, task = story["contract"], story["task"]
    page = await _get(api, f"/v1/contracts/{contract['id']}/timeline")
    items = page["items"]
    assert page["next_cursor"] is None

    assert [(i["kind"], i["type"], i["summary"]) for i in items] == [
        ("event", "account.created", "Account created"),
        ("event", "contract.created", "Contract created: 2026-03-15 to 2027-03-15, ARR 12000.00"),
        ("event", "contract.updated", "Contract updated (renews 2027-03-15, ARR 15000.00)"),
        ("event", "stakeholder.added", "Stakeholder added: business owner"),
        ("task_created", "renewal_outreach", "Task opened: Renewal outreach (due 2027-01-15)"),
        ("task_closed", "renewal_outreach", "Task done: Renewal outreach"),
        ("event", "contract.renewed", "Contract renewed until 2028-03-15"),
    ]
    times = [datetime.fromisoformat(i["at"]) for i in items]
    assert times == sorted(times)
    assert all(t.utcoffset() is not None for t in times)

    events = [i for i in items if i["kind"] == "event"]
    assert all(i["task_id"] is None and isinstance(i["event_id"], str) for i in events)
    assert events[1]["data"]["id"] == contract["id"]
    assert events[3]["data"]["id"] == story["stakeholder"]["id"]
    assert "Ada" not in str(events[3]["data"])
    assert events[-1]["data"]["terms"][-1]["end"] == "2028-03-15"
    task_items = [i for i in items if i["kind"] != "event"]
    assert [(i["task_id"], i["event_id"], i["data"]) for i in task_items] == [
        (str(task.id), None, None),
        (str(task.id), None, None),
    ]


async def test_timeline_leaves_out_other_contracts_of_the_account(api: Harness) -> None:
    story = await _story(api)
    items = (await _get(api, f"/v1/contracts/{story['other']['id']}/timeline"))["items"]
    assert [(i["kind"], i["type"]) for i in items] == [
        ("event", "account.created"),
        ("event", "contract.created"),
        ("event", "contract.updated"),
        ("event", "stakeholder.added"),
        ("task_created", "kickoff"),
    ]
    mine = (await _get(api, f"/v1/contracts/{story['contract']['id']}/timeline"))["items"]
    assert {i["event_id"] for i in items if i["type"].startswith("contract.")}.isdisjoint(
        {i["event_id"] for i in mine}
    )


async def test_since_and_until_narrow_the_timeline(api: Harness) -> None:
    story = await _story(api)
    url = f"/v1/contracts/{story['contract']['id']}/timeline"
    full = (await _get(api, url))["items"]
    at = [item["at"] for item in full]

    window = await _get(api, url, since=at[3], until=at[5])
    assert [i["type"] for i in window["items"]] == ["stakeholder.added", "renewal_outreach"]
    assert [i["kind"] for i in window["items"]] == ["event", "task_created"]
    assert (await _get(api, url, since=at[5]))["items"] == full[5:]
    assert (await _get(api, url, until=at[1]))["items"] == full[:1]
    elsewhere = datetime.fromisoformat(at[2]).astimezone(timezone(timedelta(hours=-5)))
    assert (await _get(api, url, since=elsewhere.isoformat()))["items"] == full[2:]


async def test_timeline_pages_with_limit_and_cursor(api: Harness) -> None:
    """Items at the very same instant (an event, tasks created and closed) are neither
    repeated nor skipped across pages: events come first, then openings, then closings."""
    story = await _story(api)
    row = await _contract_row(api, story["contract"]["id"])
    instant = datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    for n in range(4):
        await make_task(
            api.db,
            row,
            title=f"Same time {n}",
            created_at=instant,
            closed_at=instant,
            status="done",
        )
    async with api.db.transaction() as session:
        session.add(
            EventLogEntry(
                event_id="at-the-instant",
                type="usage.reported",
                time=instant,
                actor="test",
                account_id=row.account_id,
                contract_id=row.id,
                subject=str(uuid.uuid4()),
                data={"active_users": 3, "seats": 10, "as_of": "2027-01-01"},
            )
        )
    url = f"/v1/contracts/{story['contract']['id']}/timeline"
    full = (await _get(api, url))["items"]
    assert len(full) == 7 + 1 + 8
    simultaneous = [i for i in full if datetime.fromisoformat(i["at"]) == instant]
    assert [i["kind"] for i in simultaneous] == ["event"] + ["task_created"] * 4 + [
        "task_closed"
    ] * 4
    assert simultaneous[0]["summary"] == "Usage reported: 3 of 10 seats active (as of 2027-01-01)"

    for limit in (1, 2, 3, 7):
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            page = await _get(api, url, **params)
            assert len(page["items"]) <= limit
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == full, limit


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_timeline_parameters_are_422_naming_them(
    api: Harness, params: dict[str, Any], field: str
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    response = await api.client.get(f"/v1/contracts/{contract['id']}/timeline", params=params)
    assert response.status_code == 422, response.text
    assert error_fields(response) == [field]


@pytest.mark.parametrize(
    "cursor",
    [
        "1.0.0.0",
        "3652059.86399999999.0.999999999999999999",
        f"739953.0.1.{'0' * 32}",
        f"739953.43200000000.2.{'f' * 32}",
    ],
)
async def test_every_cursor_the_document_allows_is_read(api: Harness, cursor: str) -> None:
    """The cursor's pattern is exactly what the API reads: from the first day to the
    last, any rank with its kind of key, a schema-valid cursor is never a 422."""
    assert re.fullmatch(TIMELINE_CURSOR_TEXT, cursor)
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    url = f"/v1/contracts/{contract['id']}/timeline"
    response = await api.client.get(url, params={"cursor": cursor})
    assert response.status_code == 200, response.text


async def test_timeline_limit_defaults_to_200_and_accepts_up_to_1000(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    row = await _contract_row(api, contract["id"])
    async with api.db.transaction() as session:
        session.add_all(
            Task(
                contract_id=row.id,
                account_id=row.account_id,
                kind="kickoff",
                title=f"Task {n}",
                description="",
                due_date=date(2026, 3, 18),
                priority="normal",
                dedupe_key=f"test:{n}",
            )
            for n in range(205)
        )
    url = f"/v1/contracts/{contract['id']}/timeline"
    default = await _get(api, url)
    assert len(default["items"]) == 200
    assert default["next_cursor"] is not None
    rest = await _get(api, url, cursor=default["next_cursor"])
    assert (len(rest["items"]), rest["next_cursor"]) == (7, None)
    everything = await _get(api, url, limit=1000)
    assert everything["items"] == default["items"] + rest["items"]
    assert everything["next_cursor"] is None


@pytest.mark.parametrize(
    ("type", "data", "summary"),
    [
        (
            "contract.churned",
            {"churned_on": "2027-03-15", "churn_reason": "no_adoption"},
            "Contract churned on 2027-03-15 (no adoption)",
        ),
        (
            "contract.cancellation_noticed",
            {"cancellation_notice": {"received_on": "2026-12-01", "reason": "budget"}},
            "Cancellation notice received on 2026-12-01 (budget)",
        ),
        ("contract.cancellation_withdrawn", {}, "Cancellation notice withdrawn"),
        (
            "stakeholder.updated",
            {
                "role": "other",
                "status": "active",
                "previous": {"role": "champion", "status": "active"},
            },
            "Stakeholder changed role: champion to other",
        ),
        (
            "stakeholder.departed",
            {"role": "executive_sponsor", "status": "departed"},
            "Stakeholder departed: executive sponsor",
        ),
        (
            "goal.updated",
            {"name": "Faster onboarding", "status": "at_risk"},
            "Goal updated: Faster onboarding (at risk)",
        ),
        (
            "checkpoint.due",
            {"kind": "renewal_outreach", "due_date": "2027-01-15"},
            "Checkpoint opened: Renewal outreach (due 2027-01-15)",
        ),
        ("contract.renewed", {}, "Contract renewed"),
        (
            "contract.trial_started",
            {"name": "Reporting module", "started_on": "2026-06-01", "ends_on": "2026-07-01"},
            "Trial started: Reporting module (2026-06-01 to 2026-07-01)",
        ),
        ("contract.trial_started", {"name": "Reporting module"}, "Trial started: Reporting module"),
        ("usage.reported", {"seats": 10}, "Usage reported"),
    ],
)
def test_event_summaries_are_short_sentences(type: str, data: dict[str, Any], summary: str) -> None:
    assert event_summary(type, data) == summary


@pytest.mark.parametrize("type", [str(t) for t in EventType])
def test_every_event_type_has_a_summary_whatever_its_data(type: str) -> None:
    """Old events may carry older data versions: a summary never fails."""
    for data in ({}, {"role": None, "previous": "x", "cancellation_notice": None}):
        summary = event_summary(type, data)
        assert summary
        assert not summary.endswith((":", " "))
