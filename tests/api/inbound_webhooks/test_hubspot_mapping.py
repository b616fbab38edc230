"""The HubSpot field mapping, field by field: companies, contacts, deals."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.api.app import create_app
from shared.config import Settings
from tests.api.inbound_webhooks.support import (
    HUBSPOT_SECRET,
    PUBLIC_BASE_URL,
    dumps,
    hubspot_headers,
)
from tests.support.api import Harness, open_harness

URL = "/v1/webhooks/hubspot"
_EVENT_IDS = itertools.count(1000)


def event(kind: str, object_id: int, prop: str | None = None, value: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": next(_EVENT_IDS),
        "subscriptionId": 77,
        "portalId": 62515,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "someFieldHubSpotAddsLater": {"nested": True},
    }
    if prop is not None:
        body |= {"propertyName": prop, "propertyValue": value}
    return body


async def deliver(api: Harness, *events: dict[str, Any]) -> list[tuple[str, str | None]]:
    body = dumps(list(events))
    async with api.as_key(None) as hubspot:
        response = await hubspot.post(URL, content=body, headers=hubspot_headers(body))
    assert response.status_code == 200, response.text
    return [(item["outcome"], item["reason"]) for item in response.json()["items"]]


async def account(api: Harness, company: int) -> dict[str, Any]:
    (found,) = [
        a
        for a in (await api.client.get("/v1/accounts")).json()["items"]
        if a["external_ids"] == {"hubspot": str(company)}
    ]
    return found


async def stakeholders(api: Harness, account_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"/v1/accounts/{account_id}/stakeholders")
    return list(response.json()["items"])


async def test_a_company_becomes_an_account_and_takes_its_properties(hooks: Harness) -> None:
    outcomes = await deliver(
        hooks,
        event("company.propertyChange", 7, "name", "Initech"),
        event("company.creation", 7),
    )
    # Creation is applied first within a delivery, whatever the order HubSpot sent.
    assert outcomes == [("applied", None), ("applied", None)]
    assert (await account(hooks, 7))["name"] == "Initech"

    outcomes = await deliver(
        hooks,
        event("company.propertyChange", 7, "fiscal_year_start_month", "April"),
        event("company.propertyChange", 7, "hubspot_owner_id", "9001"),
    )
    assert outcomes == [("applied", None), ("applied", None)]
    initech = await account(hooks, 7)
    assert (initech["fiscal_year_start_month"], initech["owner"]) == (4, "maria@vendor.example")

    outcomes = await deliver(
        hooks,
        event("company.propertyChange", 7, "fiscal_year_start_month", "10"),
        event("company.propertyChange", 7, "fiscal_year_start_month", "Smarch"),
        event("company.propertyChange", 7, "hubspot_owner_id", "4242"),
        event("company.propertyChange", 7, "industry", "Software"),
        event("company.propertyChange", 8, "name", "Unknown Ltd"),
        event("company.creation", 7),
        event("company.deletion", 7),
    )
    assert outcomes[0] == ("applied", None)
    assert [outcome for outcome, _ in outcomes[1:]] == ["ignored"] * 6
    reasons = [reason or "" for _, reason in outcomes[1:]]
    assert "'Smarch' is not a month" in reasons[0]
    assert "RENEWALS_HUBSPOT_OWNER_EMAILS" in reasons[1]
    assert "'industry' is not mapped" in reasons[2]
    assert "no account has external_ids.hubspot 8" in reasons[3]
    assert "already is an account" in reasons[4]
    assert "company.deletion events change nothing" in reasons[5]
    initech = await account(hooks, 7)
    assert (initech["name"], initech["fiscal_year_start_month"]) == ("Initech", 10)
    assert [e["actor"] for e in await hooks.events("account.")] == ["webhook:hubspot"] * 5


async def test_contacts_become_stakeholders_through_their_company(hooks: Harness) -> None:
    await deliver(hooks, event("company.creation", 7), event("company.creation", 8))
    initech, globex = await account(hooks, 7), await account(hooks, 8)

    outcomes = await deliver(
        hooks,
        event("contact.creation", 51),
        event("contact.propertyChange", 51, "hs_buying_role", "CHAMPION"),
        event("contact.propertyChange", 51, "associatedcompanyid", "999"),
    )
    assert [outcome for outcome, _ in outcomes] == ["ignored"] * 3
    assert "associatedcompanyid" in (outcomes[0][1] or "")
    assert "no stakeholder has external_ids.hubspot 51" in (outcomes[1][1] or "")
    assert "company 999 is not an account here" in (outcomes[2][1] or "")

    assert await deliver(
        hooks, event("contact.propertyChange", 51, "associatedcompanyid", "7")
    ) == [("applied", None)]
    (person,) = await stakeholders(hooks, initech["id"])
    assert person | {"id": None, "created_at": None, "updated_at": None} == person | {
        "id": None,
        "created_at": None,
        "updated_at": None,
        "name": "HubSpot contact 51",
        "email": "hubspot-contact-51@placeholder.example",
        "role": "other",
        "status": "active",
        "external_ids": {"hubspot": "51"},
    }

    outcomes = await deliver(
        hooks,
        event("contact.propertyChange", 51, "hs_buying_role", "END_USER;DECISION_MAKER;CHAMPION"),
        event("contact.propertyChange", 51, "email", "ada@initech.example"),
        event("contact.propertyChange", 51, "hs_buying_role", "ASTRONAUT"),
        event("contact.propertyChange", 51, "email", "not an e-mail"),
        event("contact.propertyChange", 51, "associatedcompanyid", "7"),
    )
    assert [outcome for outcome, _ in outcomes] == ["applied", "applied"] + ["ignored"] * 3
    assert "no role is mapped for 'ASTRONAUT'" in (outcomes[2][1] or "")
    assert "email" in (outcomes[3][1] or "")
    (person,) = await stakeholders(hooks, initech["id"])
    assert (person["role"], person["email"]) == ("business_owner", "ada@initech.example")

    assert await deliver(hooks, event("contact.propertyChange", 51, "departed", "true")) == [
        ("applied", None)
    ]
    assert (await stakeholders(hooks, initech["id"]))[0]["status"] == "departed"
    departures = await hooks.events("stakeholder.departed")
    assert [e["data"]["previous"]["role"] for e in departures] == ["business_owner"]

    await deliver(hooks, event("contact.propertyChange", 51, "departed", "false"))
    assert (await stakeholders(hooks, initech["id"]))[0]["status"] == "active"

    # Moving to another known company: a departure here, a new stakeholder there.
    await deliver(hooks, event("contact.propertyChange", 51, "associatedcompanyid", "8"))
    (left,) = await stakeholders(hooks, initech["id"])
    (joined,) = await stakeholders(hooks, globex["id"])
    assert (left["status"], left["external_ids"]) == ("departed", {})
    assert (joined["email"], joined["role"], joined["external_ids"]) == (
        "ada@initech.example",
        "business_owner",
        {"hubspot": "51"},
    )


async def test_deleting_a_contact_is_a_departure_and_a_privacy_deletion_an_erasure(
    hooks: Harness,
) -> None:
    await deliver(
        hooks,
        event("company.creation", 7),
        event("contact.propertyChange", 51, "associatedcompanyid", "7"),
        event("contact.propertyChange", 52, "associatedcompanyid", "7"),
    )
    initech = await account(hooks, 7)

    outcomes = await deliver(
        hooks,
        event("contact.deletion", 51),
        event("contact.deletion", 51),
        event("contact.privacyDeletion", 52),
        event("contact.deletion", 404),
    )
    assert outcomes[0] == ("applied", None)
    assert outcomes[1] == ("ignored", "contact 51 already departed")
    assert outcomes[2] == ("applied", None)
    assert outcomes[3][0] == "ignored"
    by_id = {p["external_ids"].get("hubspot"): p for p in await stakeholders(hooks, initech["id"])}
    assert by_id["51"]["status"] == "departed"
    assert (by_id["52"]["name"], by_id["52"]["email"]) == (None, None)
    assert by_id["52"]["erased_at"] is not None


async def test_a_deal_sets_its_contracts_renewal_date_and_arr(hooks: Harness) -> None:
    await deliver(hooks, event("company.creation", 7))
    initech = await account(hooks, 7)
    created = await hooks.client.post(
        "/v1/contracts",
        json={
            "account_id": initech["id"],
            "start_date": "2026-03-15",
            "end_date": "2027-03-15",
            "arr": "24000",
            "external_ids": {"hubspot": "3001"},
        },
    )
    assert created.status_code == 201, created.text
    contract_url = f"/v1/contracts/{created.json()['id']}"
    renewal_ms = int(datetime(2027, 6, 30, tzinfo=UTC).timestamp() * 1000)

    outcomes = await deliver(
        hooks,
        event("deal.propertyChange", 3001, "renewal_date", str(renewal_ms)),
        event("deal.propertyChange", 3001, "amount", "30000.50"),
        event("deal.propertyChange", 3001, "renewal_date", "2026-01-01"),
        event("deal.propertyChange", 3001, "amount", "lots"),
        event("deal.propertyChange", 3001, "dealstage", "closedwon"),
        event("deal.propertyChange", 3002, "amount", "1"),
        event("deal.creation", 3003),
        event("ticket.creation", 1),
    )
    assert [outcome for outcome, _ in outcomes] == ["applied", "applied"] + ["ignored"] * 6
    assert "rejected: " in (outcomes[2][1] or "")
    assert "rejected: arr" in (outcomes[3][1] or "")
    assert "ticket.creation events change nothing here" in (outcomes[7][1] or "")
    contract = (await hooks.client.get(contract_url)).json()
    assert (contract["end_date"], contract["arr"]) == ("2027-06-30", "30000.50")
    updates = await hooks.events("contract.updated")
    assert [e["actor"] for e in updates] == ["webhook:hubspot", "webhook:hubspot"]


async def test_the_mapping_is_configurable(db_url: str) -> None:
    async with open_harness(
        db_url,
        hubspot_client_secret=HUBSPOT_SECRET,
        public_base_url=PUBLIC_BASE_URL,
        hubspot_property_map={
            "company": {"fy_start": "fiscal_year_start_month", "name": None},
            "contact": {"full_name": "name", "buying_role": "role"},
        },
        hubspot_role_map={"SPONSOR": "executive_sponsor"},
    ) as api:
        outcomes = await deliver(
            api,
            event("company.creation", 7),
            event("company.propertyChange", 7, "fy_start", "jul"),
            event("company.propertyChange", 7, "name", "Ignored Inc"),
            event("contact.propertyChange", 51, "associatedcompanyid", "7"),
            event("contact.propertyChange", 51, "full_name", "Ada Lovelace"),
            event("contact.propertyChange", 51, "buying_role", "sponsor"),
        )
        assert [outcome for outcome, _ in outcomes] == ["applied"] * 2 + ["ignored"] + [
            "applied"
        ] * 3
        initech = await account(api, 7)
        assert (initech["name"], initech["fiscal_year_start_month"]) == ("HubSpot company 7", 7)
        (person,) = await stakeholders(api, initech["id"])
        assert (person["name"], person["role"]) == ("Ada Lovelace", "executive_sponsor")


@pytest.mark.parametrize(
    "property_map",
    [{"company": {"name": "title"}}, {"ticket": {"subject": "name"}}],
    ids=["unknown field", "unknown object type"],
)
def test_a_wrong_mapping_fails_at_start_up(property_map: dict[str, Any]) -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:", hubspot_property_map=property_map
    )
    with pytest.raises(ValidationError):
        create_app(settings)
