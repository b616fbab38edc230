"""Tasks an account manager can trust, end to end on SQLite and Postgres: the renewal
outreach opened at once when a contract arrives after its date, auto-renewals with a task
to act on, an unknown fiscal year asked for instead of guessed, budget confirmations and
on-site visits planned once per account, budget texts that can be followed, and budget
holders.

Changes whose time matters are CloudEvents on `POST /v1/events` with an explicit `time`;
`InProcessCrm.tick(day)` applies the waiting events, sweeps that day and applies what the
sweep emitted. The contracts are the worked example's (S = 2026-03-15, R = 2027-03-15,
12,000 USD) unless a scenario says otherwise.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.crm import InProcessCrm, assert_playbook, one, summary
from tests.support.api import Harness


async def checkpoints(crm: InProcessCrm, contract: str) -> dict[str, tuple[str, str]]:
    """Term 1's checkpoints with ordinal 0: kind -> (due date, status)."""
    response = await crm.client.get(f"/v1/contracts/{contract}/checkpoints")
    assert response.status_code == 200, response.text
    return {
        c["kind"]: (c["due_date"], c["status"])
        for c in response.json()["items"]
        if c["term"] == 1 and c["ordinal"] == 0
    }


async def person(crm: InProcessCrm, account: str, name: str, role: str) -> dict[str, Any]:
    response = await crm.client.post(
        f"/v1/accounts/{account}/stakeholders",
        json={"name": name, "email": f"{name.split()[0].lower()}@acme.example", "role": role},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- 3. the outreach is never skipped while the renewal is ahead ------------------------


async def test_contract_imported_after_its_outreach_date_gets_the_outreach_at_once(
    api: Harness,
) -> None:
    """Imported on 2027-02-10, after the outreach date (2027-01-15), before R: the engine
    opens the outreach itself, due that day (the sweep opens nothing); the checkpoints
    due earlier are skipped as before."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2027-02-10T10:00:00Z")

    result = await crm.tick("2027-02-10")

    assert result.opened == 0
    tasks = await crm.tasks(contract_id=contract)
    assert summary(tasks) == [("renewal_outreach", "2027-02-10", "high", "open")]
    assert_playbook(tasks[0], "in-person meeting", "2027-03-15")
    plan = await checkpoints(crm, contract)
    assert plan["renewal_outreach"] == ("2027-02-10", "opened")
    assert plan["kickoff"][1] == plan["budget_confirmation"][1] == "skipped"
    assert plan["renewal_due"] == ("2027-03-01", "planned")

    await crm.tick_again_adds_nothing("2027-02-10")


# --- 6. auto-renewals -------------------------------------------------------------------


async def test_auto_renewal_is_confirmed_two_weeks_ahead_and_renews_without_a_task(
    api: Harness,
) -> None:
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-11-20T10:00:00Z", auto_renew=True)

    assert (await crm.tick("2027-02-15")).opened == 2  # the outreach (2027-01-01) too
    confirmation = one(await crm.tasks(contract_id=contract), "auto_renewal_confirmation")
    assert (confirmation["due_date"], confirmation["status"]) == ("2027-03-01", "open")
    assert_playbook(confirmation, "invoice", "price for the new term", "renews on 2027-03-15")

    assert (await crm.tick("2027-03-15")).renewed == 1
    tasks = await crm.tasks(contract_id=contract, status="auto_closed")
    assert [(t["kind"], t["status_reason"]) for t in tasks] == [
        ("renewal_outreach", "renewed: term 2 runs 2027-03-15 to 2028-03-15"),
        ("auto_renewal_confirmation", "renewed: term 2 runs 2027-03-15 to 2028-03-15"),
    ]
    assert await crm.tasks(kind="auto_renewal") == []


# --- 8. an unknown fiscal year ------------------------------------------------------------


async def test_unknown_fiscal_year_is_asked_for_and_setting_it_moves_the_budget_task(
    api: Harness,
) -> None:
    """No fiscal year: the budget is checked at R - 6 months (2026-09-15), the kickoff and
    the mid-term review ask for the fiscal year. Recorded on 2026-09-08 (January), the
    open budget task moves to FYS(R) - 90 days = 2026-10-03."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme", fiscal_year_start_month=None)
    read = await crm.client.get(f"/v1/accounts/{account}")
    assert read.json()["fiscal_year_start_month"] is None
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")

    for day in ("2026-03-11", "2026-04-07", "2026-06-06", "2026-08-16", "2026-09-06"):
        assert (await crm.tick(day)).opened == 1, day
    tasks = [
        t
        for t in await crm.tasks(contract_id=contract)
        if t["kind"] in {"kickoff", "budget_confirmation", "mid_term_review"}
    ]
    assert summary(tasks) == [
        ("kickoff", "2026-03-18", "normal", "open"),
        ("budget_confirmation", "2026-09-15", "normal", "open"),
        ("mid_term_review", "2026-09-13", "normal", "open"),
    ]
    for task in tasks:
        assert_playbook(task, "Customer fiscal year: unknown")
        assert "fiscal year starting" not in task["description"]
    assert "Ask when the customer's fiscal year starts" in one(tasks, "kickoff")["description"]
    assert (
        "Find out when the customer's fiscal year starts"
        in (one(tasks, "mid_term_review")["description"])
    )

    await crm.send(
        "account.updated", "2026-09-08T10:00:00Z", {"id": account, "fiscal_year_start_month": 1}
    )
    await crm.tick("2026-09-08")

    budget = one(await crm.tasks(contract_id=contract), "budget_confirmation")
    assert (budget["due_date"], budget["status"]) == ("2026-10-03", "open")
    assert_playbook(budget, "fiscal year starting 2027-01-01", "fixed by 2026-10-03")
    assert (await checkpoints(crm, contract))["budget_confirmation"] == ("2026-10-03", "opened")
    await crm.tick_again_adds_nothing("2026-09-08")


# --- 9. work planned once per account -----------------------------------------------------


async def test_contracts_with_the_same_budget_date_share_one_budget_task(api: Harness) -> None:
    """Two contracts renewing in 2027 under a January fiscal year: both budget dates are
    2026-10-03, so the sweep opens two checkpoints and one task listing both. Imported on
    2026-08-20, so their earlier checkpoints are skipped."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    first = await crm.import_contract(account, "2026-08-20T10:00:00Z")
    second = await crm.import_contract(
        account, "2026-08-20T10:00:00Z", start_date="2026-05-01", end_date="2027-05-01",
        arr="30000",
    )  # fmt: skip

    assert (await crm.tick("2026-09-03")).opened == 2

    tasks = await crm.tasks(account_id=account, kind="budget_confirmation")
    assert summary(tasks) == [("budget_confirmation", "2026-10-03", "normal", "open")]
    (task,) = tasks
    assert task["contract_id"] == first
    refs = {c: (await crm.contract(c))["external_ids"]["crm"] for c in (first, second)}
    assert_playbook(
        task,
        "ARR at stake: 42,000.00 USD over 2 contracts",
        f"Contract {first} (crm: {refs[first]}): 12,000.00 USD ARR, renews 2027-03-15",
        f"Contract {second} (crm: {refs[second]}): 30,000.00 USD ARR, renews 2027-05-01",
    )
    await crm.tick_again_adds_nothing("2026-09-03")


async def test_an_enterprise_account_gets_one_visit_for_all_its_contracts(api: Harness) -> None:
    """60,000 + 60,000 USD: enterprise together. Visits run from the earliest start
    (2026-03-15) every six months, planned on the contract renewing last. Imported on
    2026-04-30, so the kickoffs and implementation checks are skipped."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    first = await crm.import_contract(account, "2026-04-30T10:00:00Z", arr="60000")
    last = await crm.import_contract(
        account, "2026-04-30T10:00:00Z", end_date="2028-03-15", arr="60000"
    )

    # The visit, and each contract's implementation follow-up due 2026-04-26.
    assert (await crm.tick("2026-05-01")).opened == 3

    (visit,) = await crm.tasks(account_id=account, kind="onsite_visit")
    assert (visit["contract_id"], visit["due_date"], visit["priority"]) == (
        last,
        "2026-05-15",
        "high",
    )
    assert_playbook(
        visit,
        "ARR at stake: 120,000.00 USD over 2 contracts",
        f"Contract {first}",
        f"Contract {last}",
    )
    assert "onsite_visit" not in await checkpoints(crm, first)
    assert (await checkpoints(crm, last))["onsite_visit"] == ("2026-05-15", "opened")
    await crm.tick_again_adds_nothing("2026-05-01")


# --- 10. budget texts that can be followed, and budget holders ----------------------------


async def test_budget_fixed_before_signing_offers_real_options_and_names_the_holder(
    api: Harness,
) -> None:
    """An April fiscal year: the budget paying R was fixed on 2026-01-01, before S, so
    budget_confirmation moves to the kickoff (2026-03-18, opens 30 days before). The
    budget holder is named and, not being a key role, their arrival opens nothing."""
    crm = InProcessCrm(api)
    account = await crm.account("Acme", fiscal_year_start_month=4)
    holder = await person(crm, account, "Hal Holder", "budget_holder")
    assert holder["role"] == "budget_holder"
    contract = await crm.import_contract(account, "2026-02-01T10:00:00Z")

    await crm.tick("2026-02-16")

    tasks = await crm.tasks(contract_id=contract)
    assert summary(tasks) == [("budget_confirmation", "2026-03-18", "normal", "open")]
    (budget,) = tasks
    assert_playbook(
        budget,
        "- Budget holder: Hal Holder",
        "Ask Hal Holder whether the budget fixed on 2026-01-01",
        "before the contract was signed",
        "a mid-year reallocation",
        "paying the renewal from this year's budget",
        "aligning the next term's dates with the customer's fiscal year",
    )
    assert "get it added before" not in budget["description"]
