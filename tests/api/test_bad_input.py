"""Bad input answers RFC 9457 problem+json naming the field, and writes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from shared.db.base import Base
from shared.models import (
    Account,
    Contract,
    ContractTerm,
    ExternalRef,
    Goal,
    InboxKey,
    OutboxEvent,
    Partner,
    Stakeholder,
    Task,
    UsageReport,
)
from tests.support.api import Harness

UNKNOWN = "00000000-0000-7000-8000-000000000000"
WATCHED: tuple[type[Base], ...] = (
    Partner,
    Account,
    Contract,
    ContractTerm,
    Stakeholder,
    Goal,
    UsageReport,
    Task,
    ExternalRef,
    InboxKey,
    OutboxEvent,
)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any
    status: int
    problem: str
    field: str | None


def contract_body(**changes: Any) -> dict[str, Any]:
    return {
        "account_id": "{account}",
        "start_date": "2026-03-15",
        "end_date": "2027-03-15",
        "arr": "24000",
    } | changes


def event(**changes: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:crm",
        "type": "partner.created",
        "time": "2026-03-01T10:00:00Z",
        "data": {"name": "Reseller"},
    } | changes


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


BAD_ACCOUNT = {"name": "A", "fiscal_year_start_month": 13}
V, NF, DUP, CONFLICT = "validation-error", "not-found", "duplicate-external-id", "conflict"

CASES: dict[str, Case] = {
    "partner without name": Case("POST", "/v1/partners", {}, 422, V, "name"),
    "partner name of wrong type": Case("POST", "/v1/partners", {"name": 12}, 422, V, "name"),
    "partner unknown tier": Case(
        "POST", "/v1/partners", {"name": "P", "tier": "platinum"}, 422, V, "tier"
    ),
    "partner read-only id": Case(
        "POST", "/v1/partners", {"name": "P", "id": UNKNOWN}, 422, V, "id"
    ),
    "partner unknown field": Case(
        "POST", "/v1/partners", {"name": "P", "colour": "red"}, 422, V, "colour"
    ),
    "fiscal month 13": Case(
        "POST", "/v1/accounts", {"name": "A", "fiscal_year_start_month": 13}, 422, V,
        "fiscal_year_start_month",
    ),
    "fiscal month 0": Case(
        "POST", "/v1/accounts", {"name": "A", "fiscal_year_start_month": 0}, 422, V,
        "fiscal_year_start_month",
    ),
    "fiscal month as text": Case(
        "POST", "/v1/accounts", {"name": "A", "fiscal_year_start_month": "march"}, 422, V,
        "fiscal_year_start_month",
    ),
    "negative budget lead": Case(
        "POST", "/v1/accounts", {"name": "A", "budget_lead_days": -1}, 422, V, "budget_lead_days"
    ),
    "malformed owner e-mail": Case(
        "POST", "/v1/accounts", {"name": "A", "owner": "not-an-email"}, 422, V, "owner"
    ),
    "account with unknown partner": Case(
        "POST", "/v1/accounts", {"name": "A", "partner_id": UNKNOWN}, 404, NF, "partner_id"
    ),
    "account derived segment": Case(
        "POST", "/v1/accounts", {"name": "A", "segment": "enterprise"}, 422, V, "segment"
    ),
    "account duplicate external id": Case(
        "POST", "/v1/accounts", {"name": "A", "external_ids": {"hubspot": "hs-1"}}, 409, DUP,
        "external_ids.hubspot",
    ),
    "account patch fiscal month 0": Case(
        "PATCH", "/v1/accounts/{account}", {"fiscal_year_start_month": 0}, 422, V,
        "fiscal_year_start_month",
    ),
    "unknown account": Case("PATCH", f"/v1/accounts/{UNKNOWN}", {"name": "B"}, 404, NF, None),
    "end before start": Case(
        "POST", "/v1/contracts", contract_body(end_date="2026-03-01"), 422, V, "end_date"
    ),
    "end equal to start": Case(
        "POST", "/v1/contracts", contract_body(end_date="2026-03-15"), 422, V, "end_date"
    ),
    "impossible date": Case(
        "POST", "/v1/contracts", contract_body(start_date="2026-02-30"), 422, V, "start_date"
    ),
    "negative arr": Case("POST", "/v1/contracts", contract_body(arr="-1"), 422, V, "arr"),
    "arr with three decimals": Case(
        "POST", "/v1/contracts", contract_body(arr="12.345"), 422, V, "arr"
    ),
    "arr not a number": Case("POST", "/v1/contracts", contract_body(arr="lots"), 422, V, "arr"),
    "negative seats": Case("POST", "/v1/contracts", contract_body(seats=-1), 422, V, "seats"),
    "negative notice period": Case(
        "POST", "/v1/contracts", contract_body(notice_period_days=-5), 422, V,
        "notice_period_days",
    ),
    "pilot ending before it starts": Case(
        "POST", "/v1/contracts",
        contract_body(pilot_start="2026-02-01", pilot_end="2026-01-15"), 422, V, "pilot_end",
    ),
    "unknown account id": Case(
        "POST", "/v1/contracts", contract_body(account_id=UNKNOWN), 404, NF, "account_id"
    ),
    "account id not a uuid": Case(
        "POST", "/v1/contracts", contract_body(account_id="acme"), 422, V, "account_id"
    ),
    "derived stage": Case(
        "POST", "/v1/contracts", contract_body(stage="renewal"), 422, V, "stage"
    ),
    "derived channel": Case(
        "POST", "/v1/contracts", contract_body(channel="partner"), 422, V, "channel"
    ),
    "derived term": Case("POST", "/v1/contracts", contract_body(term=2), 422, V, "term"),
    "missing arr": Case("POST", "/v1/contracts", without(contract_body(), "arr"), 422, V, "arr"),
    "patch end before start": Case(
        "PATCH", "/v1/contracts/{contract}", {"end_date": "2025-01-01"}, 422, V, "end_date"
    ),
    "renew to a date before R": Case(
        "POST", "/v1/contracts/{contract}/renew", {"end_date": "2027-01-01", "arr": "1"}, 422,
        V, "end_date",
    ),
    "unknown churn reason": Case(
        "POST", "/v1/contracts/{contract}/churn", {"reason": "bored"}, 422, V, "reason"
    ),
    "notice with impossible date": Case(
        "POST", "/v1/contracts/{contract}/cancellation-notice", {"received_on": "2026-13-01"},
        422, V, "received_on",
    ),
    "withdrawing a notice never given": Case(
        "DELETE", "/v1/contracts/{contract}/cancellation-notice", None, 409, CONFLICT, None
    ),
    "malformed stakeholder e-mail": Case(
        "POST", "/v1/accounts/{account}/stakeholders",
        {"name": "Ada", "email": "ada@", "role": "champion"}, 422, V, "email",
    ),
    "unknown stakeholder role": Case(
        "POST", "/v1/accounts/{account}/stakeholders",
        {"name": "Ada", "email": "ada@example.com", "role": "ceo"}, 422, V, "role",
    ),
    "stakeholder of unknown account": Case(
        "POST", f"/v1/accounts/{UNKNOWN}/stakeholders",
        {"name": "Ada", "email": "ada@example.com", "role": "champion"}, 404, NF, None,
    ),
    "unknown stakeholder status": Case(
        "PATCH", "/v1/stakeholders/{stakeholder}", {"status": "gone"}, 422, V, "status"
    ),
    "negative usage seats": Case(
        "POST", "/v1/contracts/{contract}/usage",
        {"active_users": 1, "seats": -1, "as_of": "2026-05-01"}, 422, V, "seats",
    ),
    "usage users as text": Case(
        "POST", "/v1/contracts/{contract}/usage",
        {"active_users": "many", "seats": 10, "as_of": "2026-05-01"}, 422, V, "active_users",
    ),
    "unknown goal status": Case(
        "POST", "/v1/contracts/{contract}/goals",
        {"name": "G", "target": "T", "status": "great"}, 422, V, "status",
    ),
    "goal status nulled": Case("PATCH", "/v1/goals/{goal}", {"status": None}, 422, V, "status"),
    "unknown task": Case("PATCH", f"/v1/tasks/{UNKNOWN}", {"status": "done"}, 404, NF, None),
    "event without time": Case("POST", "/v1/events", without(event(), "time"), 422, V, "time"),
    "event of an internal type": Case(
        "POST", "/v1/events", event(type="task.created"), 422, V, "type"
    ),
    "erasure as an event": Case(
        "POST", "/v1/events", event(type="stakeholder.erased"), 422, V, "type"
    ),
    "the scheduler's overdue event": Case(
        "POST", "/v1/events", event(type="task.overdue"), 422, V, "type"
    ),
    "event with wrong specversion": Case(
        "POST", "/v1/events", event(specversion="0.3"), 422, V, "specversion"
    ),
    "event with bad data": Case(
        "POST", "/v1/events", event(data={"name": ""}), 422, V, "data.name"
    ),
    "batch with one bad event": Case(
        "POST", "/v1/events/batch",
        [event(), event(id="evt-2", type="account.created", data=BAD_ACCOUNT)],
        422, V, "[1].data.fiscal_year_start_month",
    ),
    "batch over 1000 events": Case(
        "POST", "/v1/events/batch", [event(id=f"e{i}") for i in range(1001)], 422, V, None
    ),
    "partner name with a line break": Case(
        "POST", "/v1/partners", {"name": "Resell\nInc"}, 422, V, "name"
    ),
    "account name with a carriage return": Case(
        "POST", "/v1/accounts", {"name": "Acme\r=cmd"}, 422, V, "name"
    ),
    "account name with an escape sequence": Case(
        "PATCH", "/v1/accounts/{account}", {"name": "Acme\u001b[31m"}, 422, V, "name"
    ),
    "stakeholder name with a tab": Case(
        "POST", "/v1/accounts/{account}/stakeholders",
        {"name": "Ada\tL", "email": "ada@example.com", "role": "champion"}, 422, V, "name",
    ),
    "goal name with a line break": Case(
        "POST", "/v1/contracts/{contract}/goals", {"name": "G\n# H", "target": "T"}, 422, V,
        "name",
    ),
    "goal target with a NUL": Case(
        "PATCH", "/v1/goals/{goal}", {"target": "T\u0000"}, 422, V, "target"
    ),
    "event with a line break in a name": Case(
        "POST", "/v1/events", event(data={"name": "Re\nseller"}), 422, V, "data.name"
    ),
}  # fmt: skip


@pytest.fixture
async def world(api: Harness) -> dict[str, str]:
    """One of each entity, so paths can name real ids."""
    client = api.client
    partner = (await client.post("/v1/partners", json={"name": "P"})).json()
    account = (
        await client.post("/v1/accounts", json={"name": "A", "external_ids": {"hubspot": "hs-1"}})
    ).json()
    contract = (
        await client.post("/v1/contracts", json=contract_body(account_id=account["id"]))
    ).json()
    stakeholder = (
        await client.post(
            f"/v1/accounts/{account['id']}/stakeholders",
            json={"name": "Ada", "email": "ada@example.com", "role": "champion"},
        )
    ).json()
    goal = (
        await client.post(
            f"/v1/contracts/{contract['id']}/goals",
            json={"name": "G", "target": "T", "status": "on_track"},
        )
    ).json()
    return {
        "partner": partner["id"],
        "account": account["id"],
        "contract": contract["id"],
        "stakeholder": stakeholder["id"],
        "goal": goal["id"],
    }


async def _counts(api: Harness) -> dict[str, int]:
    return {model.__tablename__: await api.count(model) for model in WATCHED}


def test_the_table_has_at_least_35_cases() -> None:
    assert len(CASES) >= 35


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_input_names_the_field_and_writes_nothing(
    api: Harness, world: dict[str, str], name: str
) -> None:
    case = CASES[name]
    path = case.path.format(**world)
    body = json.loads(json.dumps(case.body).replace("{account}", world["account"]))
    before = await _counts(api)
    response = await api.client.request(case.method, path, json=body)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"urn:renewals:problem:{case.problem}"
    assert problem["status"] == case.status
    assert problem["title"]
    if case.field is not None:
        fields = [error["field"] for error in problem.get("errors", [])]
        assert case.field in fields, fields
    assert await _counts(api) == before


@pytest.mark.parametrize(
    ("path", "size"),
    [("/v1/partners", 1024 * 1024 + 1), ("/v1/events/batch", 10 * 1024 * 1024 + 1)],
)
async def test_oversize_bodies_are_413_and_write_nothing(
    api: Harness, world: dict[str, str], path: str, size: int
) -> None:
    before = await _counts(api)
    response = await api.client.post(
        path, content=b"x" * size, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:renewals:problem:payload-too-large"
    assert await _counts(api) == before


async def test_a_batch_just_under_ten_mebibytes_is_not_refused_for_size(
    api: Harness, world: dict[str, str]
) -> None:
    padding = "x" * (2 * 1024 * 1024)
    response = await api.client.post(
        "/v1/events/batch", json=[event(data={"name": "P", "padding": padding})]
    )
    assert response.status_code == 422
    assert "padding" in response.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/partners", "GET, POST"),
        ("DELETE", f"/v1/partners/{UNKNOWN}", "GET, PATCH"),
        ("POST", f"/v1/stakeholders/{UNKNOWN}", "DELETE, GET, PATCH"),
    ],
)
async def test_a_wrong_method_is_405_allowing_every_method_of_the_path(
    api: Harness, method: str, path: str, allowed: str
) -> None:
    """Each method of a path is its own route; `Allow` must list them all (RFC 9110),
    not only those of the first route that matched the path."""
    response = await api.client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/contracts", {"renews_before": "0"}, "renews_before"),
        ("/v1/contracts", {"renews_after": "-3.08e-205"}, "renews_after"),
        ("/v1/tasks", {"due_before": "1700000000"}, "due_before"),
    ],
)
async def test_a_number_is_not_read_as_a_date(
    api: Harness, path: str, params: dict[str, str], field: str
) -> None:
    """pydantic reads numbers as Unix timestamps; the API documents `YYYY-MM-DD` only."""
    response = await api.client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
