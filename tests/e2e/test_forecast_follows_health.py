"""The worker moves a contract's forecast with its health band. The worked example's
contract is green with its outreach not done (probable); a goal at risk and low adoption
make it yellow (still probable: no change, nothing announced); its business owner
leaving makes it red, so the engine's forecast becomes `at_risk`, announced once by
`contract.forecast_changed` at the time of the departure."""

from __future__ import annotations

from typing import Any

from tests.e2e.crm import InProcessCrm
from tests.support.api import Harness


async def forecast(crm: InProcessCrm, contract: str) -> dict[str, Any]:
    response = await crm.client.get(f"/v1/contracts/{contract}/forecast")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_worker_moves_the_forecast_with_the_health_band(api: Harness) -> None:
    crm = InProcessCrm(api)
    account = await crm.account("Acme")
    contract = await crm.import_contract(account, "2026-03-01T10:00:00Z")
    buyer = {"account_id": account, "name": "Alice", "email": "alice@acme.example"}
    await crm.send(
        "stakeholder.added",
        "2026-03-02T09:00:00Z",
        buyer | {"role": "business_owner", "external_ids": {"crm": "alice"}},
    )
    await crm.tick("2026-03-02")
    assert (await forecast(crm, contract))["category"] == "probable"

    goal = {"contract_id": contract, "name": "Cut onboarding time", "target": "half"}
    await crm.send("goal.created", "2026-05-02T10:00:00Z", goal | {"status": "at_risk"})
    usage = {"contract_id": contract, "active_users": 10, "seats": 100, "as_of": "2026-05-03"}
    await crm.send("usage.reported", "2026-05-03T12:00:00Z", usage)
    await crm.tick("2026-05-03")
    assert (await crm.contract(contract))["health"]["band"] == "yellow"
    assert (await forecast(crm, contract))["category"] == "probable"

    departed = {"external_ids": {"crm": "alice"}}
    await crm.send("stakeholder.departed", "2026-05-04T10:00:00Z", departed)
    await crm.tick("2026-05-04")
    assert (await crm.contract(contract))["health"]["band"] == "red"
    now = await forecast(crm, contract)
    assert (now["category"], now["set_by"], now["overridden"]) == ("at_risk", "engine", False)
    changes = [
        (e["time"], e["source"], e["data"]["old"]["category"], e["data"]["new"]["category"])
        for e in await api.events("contract.forecast_changed")
        if e["data"]["contract_id"] == contract
    ]
    assert changes == [("2026-05-04T10:00:00+00:00", "urn:renewals:worker", "probable", "at_risk")]
