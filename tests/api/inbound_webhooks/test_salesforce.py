"""Salesforce Outbound Messages: accounts, contacts, renewal opportunities and completed
tasks mapped onto the engine, the org check, dedupe by notification id and the Ack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from shared.models import CrmTaskSync
from shared.salesforce_ids import to_18
from tests.api.inbound_webhooks.salesforce_messages import (
    ACK,
    FOREIGN_ORG_ID,
    ORG_ID,
    ORG_ID_15,
    envelope,
    notification,
)
from tests.api.inbound_webhooks.support import counts
from tests.support.api import Harness, open_harness
from tests.support.factories import make_account, make_contract, make_task

URL = "/v1/webhooks/salesforce"
ACME = to_18("0015g00000AcmeX")
GLOBEX = to_18("0015g00000Globx")
ADA = to_18("0035g00000AdaLv")
RENEWAL = to_18("0065g00000Renew")
SF_TASK = to_18("00T5g00000CallX")
RETRY = to_18("04l5g00000Retry")

Outcome = tuple[str, str | None]


@pytest.fixture
async def sf(db_url: str) -> AsyncIterator[Harness]:
    """The app accepting messages from one org, given in its 15-character form."""
    async with open_harness(db_url, salesforce_org_ids=ORG_ID_15) as api:
        yield api


async def send(api: Harness, *notifications: str) -> list[Outcome]:
    """Posts a message as Salesforce does; returns each notification's logged outcome."""
    body = envelope(*notifications)
    with capture_logs() as logs:
        async with api.as_key(None) as salesforce:
            response = await salesforce.post(
                URL, content=body, headers={"content-type": "text/xml; charset=utf-8"}
            )
    assert response.status_code == 200, response.text
    assert response.content == ACK
    assert response.headers["content-type"].startswith("text/xml")
    return [
        (log["outcome"], log["reason"]) for log in logs if log["event"] == "salesforce_notification"
    ]


async def accounts(api: Harness) -> dict[str, dict[str, Any]]:
    listed = (await api.client.get("/v1/accounts")).json()["items"]
    return {a["external_ids"]["salesforce"]: a for a in listed if "salesforce" in a["external_ids"]}


async def stakeholders(api: Harness, account_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"/v1/accounts/{account_id}/stakeholders")
    return list(response.json()["items"])


async def test_an_account_message_creates_then_updates_the_account(sf: Harness) -> None:
    assert await send(sf, notification("Account", ACME, Name="Acme Corp")) == [("applied", None)]
    acme = (await accounts(sf))[ACME]
    assert (acme["name"], acme["owner"], acme["fiscal_year_start_month"]) == (
        "Acme Corp",
        None,
        None,
    )

    outcomes = await send(
        sf,
        notification(
            "Account",
            ACME,
            Name="Acme Corporation",
            Fiscal_Year_Start_Month__c="April",
            Owner_Email__c="maria@vendor.example",
            Industry="Manufacturing",
        ),
        notification(
            "Account",
            ACME,
            Name="Acme Corporation",
            Fiscal_Year_Start_Month__c="4.0",
            Owner_Email__c="maria@vendor.example",
        ),
        notification("Account", ACME, Fiscal_Year_Start_Month__c="Smarch"),
        notification("Account", ACME, Owner_Email__c=None),
    )
    assert [outcome for outcome, _ in outcomes] == ["applied", "ignored", "ignored", "applied"]
    assert "already has the mapped values" in (outcomes[1][1] or "")
    assert "'Smarch' is not a month" in (outcomes[2][1] or "")
    acme = (await accounts(sf))[ACME]
    assert (acme["name"], acme["owner"], acme["fiscal_year_start_month"]) == (
        "Acme Corporation",
        None,
        4,
    )
    events = await sf.events("account.")
    assert [(e["type"], e["actor"]) for e in events] == [
        ("account.created", "webhook:salesforce"),
        ("account.updated", "webhook:salesforce"),
        ("account.updated", "webhook:salesforce"),
    ]


async def test_an_account_without_a_name_is_named_after_its_id_and_15_characters_suffice(
    sf: Harness,
) -> None:
    assert await send(sf, notification("Account", ACME[:15])) == [("applied", None)]
    assert (await accounts(sf))[to_18(ACME)]["name"] == f"Salesforce account {ACME}"


async def test_contacts_become_stakeholders_of_known_accounts(sf: Harness) -> None:
    outcomes = await send(
        sf,
        notification("Contact", ADA, AccountId=ACME, Email="ada@acme.example"),
        notification("Contact", ADA, Email="ada@acme.example"),
    )
    assert [outcome for outcome, _ in outcomes] == ["ignored", "ignored"]
    assert f"AccountId {ACME} is not an account here" in (outcomes[0][1] or "")
    assert "when AccountId names an account here" in (outcomes[1][1] or "")

    await send(sf, notification("Account", ACME, Name="Acme"))
    await send(sf, notification("Account", GLOBEX, Name="Globex"))
    known = await accounts(sf)
    acme, globex = known[ACME]["id"], known[GLOBEX]["id"]
    outcomes = await send(
        sf,
        notification(
            "Contact",
            ADA,
            AccountId=ACME[:15],
            Name="Ada Lovelace",
            Email="ada@acme.example",
            Renewal_Role__c="Economic Buyer;Executive Sponsor",
            Departed__c="false",
        ),
    )
    assert outcomes == [("applied", None)]
    (ada,) = await stakeholders(sf, acme)
    assert {k: ada[k] for k in ("name", "email", "role", "status", "external_ids")} == {
        "name": "Ada Lovelace",
        "email": "ada@acme.example",
        "role": "executive_sponsor",
        "status": "active",
        "external_ids": {"salesforce": ADA},
    }

    outcomes = await send(
        sf,
        notification("Contact", ADA, AccountId=ACME, Renewal_Role__c="Astronaut"),
        notification("Contact", ADA, AccountId=ACME, Renewal_Role__c="Champion"),
        notification("Contact", ADA, AccountId=ACME, Departed__c="true"),
    )
    assert [outcome for outcome, _ in outcomes] == ["ignored", "applied", "applied"]
    assert "no role is mapped for 'Astronaut'" in (outcomes[0][1] or "")
    (ada,) = await stakeholders(sf, acme)
    assert (ada["role"], ada["status"]) == ("champion", "departed")
    departures = await sf.events("stakeholder.departed")
    assert [e["actor"] for e in departures] == ["webhook:salesforce"]

    # Moved to another known account: a departure there, a new stakeholder here.
    await send(sf, notification("Contact", ADA, AccountId=GLOBEX, Departed__c="false"))
    (left,) = await stakeholders(sf, acme)
    (joined,) = await stakeholders(sf, globex)
    assert (left["status"], left["external_ids"]) == ("departed", {})
    assert (joined["email"], joined["role"], joined["status"], joined["external_ids"]) == (
        "ada@acme.example",
        "champion",
        "active",
        {"salesforce": ADA},
    )


async def _contract(api: Harness, external_id: str) -> str:
    await send(api, notification("Account", ACME, Name="Acme"))
    created = await api.client.post(
        "/v1/contracts",
        json={
            "account_id": (await accounts(api))[ACME]["id"],
            "start_date": "2026-03-15",
            "end_date": "2027-03-15",
            "arr": "24000",
            "external_ids": {"salesforce": external_id},
        },
    )
    assert created.status_code == 201, created.text
    return f"/v1/contracts/{created.json()['id']}"


async def test_a_renewal_opportunity_sets_its_contracts_end_date_and_arr(sf: Harness) -> None:
    # Entered by hand with the 15-character id from the record's URL.
    contract_url = await _contract(sf, RENEWAL[:15])
    outcomes = await send(
        sf,
        notification("Opportunity", RENEWAL, Type="New Customer", CloseDate="2027-06-30"),
        notification("Opportunity", RENEWAL, CloseDate="2027-06-30"),
        notification("Opportunity", to_18("0065g00000Other"), Type="Renewal", Amount="1.0"),
        notification("Opportunity", RENEWAL, Type="Renewal", CloseDate="2027-06-30"),
        notification("Opportunity", RENEWAL, Type="Renewal", Amount="1.5E5"),
        notification("Opportunity", RENEWAL, Type="Renewal", Amount="150000.0"),
        notification("Opportunity", RENEWAL, Type="Renewal", CloseDate="2026-01-01"),
    )
    assert [outcome for outcome, _ in outcomes] == [
        "ignored",
        "ignored",
        "ignored",
        "applied",
        "applied",
        "ignored",
        "ignored",
    ]
    assert "is not a renewal (Type = 'New Customer')" in (outcomes[0][1] or "")
    assert "does not carry Type" in (outcomes[1][1] or "")
    assert "opportunities never create contracts" in (outcomes[2][1] or "")
    assert "already has the mapped values" in (outcomes[5][1] or "")
    assert (outcomes[6][1] or "").startswith("rejected: ")
    contract = (await sf.client.get(contract_url)).json()
    assert (contract["end_date"], contract["arr"]) == ("2027-06-30", "150000.00")
    updates = await sf.events("contract.updated")
    assert [e["actor"] for e in updates] == ["webhook:salesforce"] * 2


async def test_a_task_completed_in_salesforce_closes_the_engine_task_once(sf: Harness) -> None:
    task = await make_task(sf.db, await make_contract(sf.db, await make_account(sf.db)))
    async with sf.db.transaction() as session:
        session.add(
            CrmTaskSync(task_id=task.id, crm="salesforce", crm_object_id=SF_TASK, wanted_version=1)
        )

    outcomes = await send(
        sf,
        notification("Task", SF_TASK, Status="In Progress"),
        notification("Task", to_18("00T5g00000NotOu"), Status="Completed"),
        notification("Task", SF_TASK, Subject="Call"),
        notification("Task", SF_TASK, Status="Completed"),
        notification("Task", SF_TASK, Status="Completed", IsClosed="true"),
    )
    assert [outcome for outcome, _ in outcomes] == [
        "ignored",
        "ignored",
        "ignored",
        "applied",
        "ignored",
    ]
    assert "is not completed (Status = 'In Progress')" in (outcomes[0][1] or "")
    assert "neither Status nor IsClosed" in (outcomes[2][1] or "")
    closed = (await sf.client.get(f"/v1/tasks/{task.id}")).json()
    assert (closed["status"], closed["outcome"]) == ("done", "completed in Salesforce")
    assert [e["actor"] for e in await sf.events("task.")] == ["webhook:salesforce"]


async def test_a_retried_notification_changes_nothing_and_is_acked(sf: Harness) -> None:
    first = notification("Account", ACME, id=RETRY, Name="Acme")
    assert await send(sf, first, first) == [("applied", None), ("duplicate", None)]
    before = await counts(sf)
    renamed = notification("Account", ACME, id=RETRY, Name="Renamed")
    assert await send(sf, renamed) == [("duplicate", None)]
    assert await counts(sf) == before
    assert (await accounts(sf))[ACME]["name"] == "Acme"


async def test_records_of_other_types_are_acked_and_change_nothing(sf: Harness) -> None:
    before = await counts(sf)
    outcomes = await send(sf, notification("Lead", to_18("00Q5g00000LeadX"), Company="Initech"))
    assert outcomes == [("ignored", "Lead records change nothing here")]
    assert await counts(sf) == before | {"inbox": before["inbox"] + 1}


@pytest.mark.parametrize(
    ("org_ids", "org", "problem"),
    [
        (ORG_ID, FOREIGN_ORG_ID, "unknown-organization"),
        ("", ORG_ID, "webhook-not-configured"),
    ],
    ids=["foreign-org", "none-configured"],
)
async def test_a_message_from_an_org_not_configured_is_401_and_changes_nothing(
    db_url: str, org_ids: str, org: str, problem: str
) -> None:
    async with open_harness(db_url, salesforce_org_ids=org_ids) as api:
        before = await counts(api)
        async with api.as_key(None) as salesforce:
            response = await salesforce.post(
                URL, content=envelope(notification("Account", ACME), org=org)
            )
        assert response.status_code == 401
        assert response.json()["type"].endswith(problem)
        assert await counts(api) == before


async def test_the_field_role_and_renewal_maps_are_configurable(db_url: str) -> None:
    async with open_harness(
        db_url,
        salesforce_org_ids=ORG_ID,
        salesforce_field_map={
            "Account": {
                "Fiscal_Year_Start_Month__c": None,
                "FY_Start__c": "fiscal_year_start_month",
            },
            "contact": {"Buying_Role__c": "role"},
            "opportunity": {"Type": None, "Is_Renewal__c": "renewal"},
        },
        salesforce_role_map={"Technical Buyer": "champion"},
        salesforce_renewal_values="true",
    ) as api:
        await send(
            api,
            notification(
                "Account", ACME, Name="Acme", Fiscal_Year_Start_Month__c="3", FY_Start__c="Oct"
            ),
        )
        acme = (await accounts(api))[ACME]
        assert acme["fiscal_year_start_month"] == 10
        await send(
            api,
            notification("Contact", ADA, AccountId=ACME, Buying_Role__c="technical buyer"),
        )
        (ada,) = await stakeholders(api, acme["id"])
        assert ada["role"] == "champion"

        contract_url = await _contract(api, RENEWAL)
        outcomes = await send(
            api,
            notification("Opportunity", RENEWAL, Type="Renewal", Is_Renewal__c="false"),
            notification("Opportunity", RENEWAL, Is_Renewal__c="true", CloseDate="2027-05-01"),
        )
        assert [outcome for outcome, _ in outcomes] == ["ignored", "applied"]
        assert "Is_Renewal__c = 'false'" in (outcomes[0][1] or "")
        assert (await api.client.get(contract_url)).json()["end_date"] == "2027-05-01"
