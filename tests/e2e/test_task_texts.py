"""Task texts an account manager can trust, through the public API on both databases:
goals listed on checkpoint tasks, stakeholder changes told by role, meetings true to the
customer's segment, and the partner of a partner-sold contract in the loop.

Contracts are imported late in their term (on 2026-12-20, S = 2026-03-15, R = 2027-03-15)
so their earlier checkpoints are skipped and one tick on 2027-01-01 opens exactly their
renewal outreach."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.crm import InProcessCrm, assert_playbook, one, summary
from tests.support.api import Harness

IN_PERSON = re.compile(r"in[ -]person|on[ -]site", re.IGNORECASE)
ARR_BY_SEGMENT = {
    "enterprise": "150000",
    "mid_market": "50000",
    "growth": "12000",
    "scale": "2000",
    "self_serve": "500",
}
MAP_ORGANISATION = "who signs the renewal, who uses the product, who pays for it"
INVOLVE_PARTNER = (
    "Involve the partner Initech Partners: share this task with them and agree who does which step."
)


def steps(task: dict[str, Any]) -> list[str]:
    block = str(task["description"]).split("**Steps:**\n")[1].split("\n\n")[0]
    return block.splitlines()


def changes(task: dict[str, Any]) -> list[str]:
    return str(task["description"]).split("\n\nChanges:\n")[1].splitlines()


async def add_person(crm: InProcessCrm, account: str, day: str, name: str, role: str) -> None:
    await crm.send(
        "stakeholder.added",
        f"{day}T09:00:00Z",
        {
            "account_id": account,
            "name": name,
            "email": f"{name.split()[0].lower()}@customer.example",
            "role": role,
            "external_ids": {"crm": name},
        },
    )


async def depart(crm: InProcessCrm, day: str, name: str) -> None:
    await crm.send("stakeholder.departed", f"{day}T09:00:00Z", {"external_ids": {"crm": name}})


async def test_renewal_outreach_meets_by_segment_lists_goals_and_involves_the_partner(
    api: Harness,
) -> None:
    crm = InProcessCrm(api)
    partner = await crm.client.post("/v1/partners", json={"name": "Initech Partners"})
    assert partner.status_code == 201, partner.text
    contracts: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for segment, arr in ARR_BY_SEGMENT.items():
        extra = {"partner_id": partner.json()["id"]} if segment == "mid_market" else {}
        account = accounts[segment] = await crm.account(f"Acme {segment}", **extra)
        contracts[segment] = await crm.import_contract(account, "2026-12-20T10:00:00Z", arr=arr)
    for name, target, status in (
        ("Cut dispatch time", "20% less than in 2025", "on_track"),
        ("Weekly active teams", "12 teams by June", "achieved"),
    ):
        await crm.send(
            "goal.created",
            "2026-12-21T10:00:00Z",
            {"contract_id": contracts["growth"], "name": name, "target": target, "status": status},
        )
    await add_person(crm, accounts["mid_market"], "2026-12-21", "Mia Owner", "business_owner")
    await depart(crm, "2026-12-22", "Mia Owner")

    await crm.tick("2027-01-01")

    outreach = {
        s: one(await crm.tasks(contract_id=c), "renewal_outreach") for s, c in contracts.items()
    }
    for task in outreach.values():
        assert_playbook(task, "2027-03-15")
    assert {s: t["title"].split(": ", 1)[-1] for s, t in outreach.items()} == {
        "enterprise": "book an on-site visit",
        "mid_market": "book an in-person meeting",
        "growth": "book an in-person meeting",
        "scale": "book a video call",
        "self_serve": "Send the renewal notice to Acme self_serve",
    }
    for segment in ("enterprise", "mid_market"):
        assert MAP_ORGANISATION in outreach[segment]["description"]
    for segment in ("growth", "scale", "self_serve"):
        assert MAP_ORGANISATION not in outreach[segment]["description"]
    for segment in ("scale", "self_serve"):
        task = outreach[segment]
        assert not IN_PERSON.search(task["title"] + task["description"]), task["description"]

    assert_playbook(
        outreach["growth"],
        "Goals:\n- Cut dispatch time (target: 20% less than in 2025): on track\n"
        "- Weekly active teams (target: 12 teams by June): achieved\n",
    )
    assert_playbook(outreach["enterprise"], "No goal is recorded yet: agree the business goals")

    partner_tasks = await crm.tasks(account_id=accounts["mid_market"])
    assert [t["kind"] for t in partner_tasks] == ["stakeholder_change", "renewal_outreach"]
    for task in partner_tasks:
        assert task["partner_id"] == partner.json()["id"]
        assert_playbook(task, "- Partner: Initech Partners (sold this contract)")
        assert steps(task)[-1].endswith(INVOLVE_PARTNER)
    for segment in ("enterprise", "growth", "scale", "self_serve"):
        assert "Partner" not in outreach[segment]["description"]


async def test_stakeholder_changes_are_told_by_role_and_co_owners_are_no_change(
    api: Harness,
) -> None:
    """Acme's second business owner, added while the first is active, is a co-owner: no
    task, full health. Its champion leaving opens a champion change whose first step is
    finding the successor; its first owner leaving later is folded in, with the co-owner
    still there. Beta's only business owner leaving opens a business owner change that
    starts by finding the successor; the successor, added once the worker applied the
    departure, is folded in."""
    crm = InProcessCrm(api)
    acme = await crm.account("Acme")
    beta = await crm.account("Beta")
    contract = await crm.import_contract(acme, "2026-03-01T10:00:00Z")
    await crm.import_contract(beta, "2026-03-01T10:00:00Z")
    await add_person(crm, acme, "2026-04-01", "Alice Owner", "business_owner")
    await add_person(crm, acme, "2026-04-01", "Carl Champion", "champion")
    await add_person(crm, acme, "2026-04-02", "Bob Coowner", "business_owner")
    await add_person(crm, beta, "2026-04-01", "Dana Owner", "business_owner")

    await crm.tick("2026-03-01")

    assert await crm.tasks() == []
    health = (await crm.contract(contract))["health"]
    assert (health["score"], health["signals"]) == (100, [])

    await depart(crm, "2026-05-01", "Carl Champion")
    await depart(crm, "2026-05-03", "Alice Owner")
    await depart(crm, "2026-05-01", "Dana Owner")

    await crm.tick("2026-03-01")

    (champion,) = await crm.tasks(account_id=acme)
    assert summary([champion]) == [("stakeholder_change", "2026-05-08", "normal", "open")]
    assert champion["title"] == "Champion change at Acme: Carl Champion"
    assert_playbook(champion, "Nobody may be left to drive adoption")
    assert steps(champion)[0] == (
        "1. Find the successor: ask your contacts at Acme who is the champion now, and "
        "record them as a stakeholder."
    )
    assert changes(champion) == [
        "- 2026-05-01: Carl Champion (champion) left; no active champion remains.",
        "- 2026-05-03: Alice Owner (business owner) left.",
    ]
    lost = (await crm.contract(contract))["health"]["signals"]
    assert lost == [{"signal": "key_stakeholder_lost", "points": -30}]

    (owner,) = await crm.tasks(account_id=beta)
    assert owner["title"] == "Business owner change at Beta: Dana Owner"
    assert_playbook(owner, "The person who owns the business outcome")
    assert steps(owner)[0].startswith("1. Find the successor: ask your contacts at Beta")

    await add_person(crm, beta, "2026-05-03", "Eve Successor", "business_owner")
    await crm.tick("2026-03-01")

    (owner,) = await crm.tasks(account_id=beta)
    assert changes(owner) == [
        "- 2026-05-01: Dana Owner (business owner) left; no active business owner remains.",
        "- 2026-05-03: Eve Successor was added as the new business owner.",
    ]
