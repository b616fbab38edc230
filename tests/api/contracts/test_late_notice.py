"""Late cancellation notices: received after R - notice_period_days, recorded with
`"late": true` in the answer, the contract reads and the `contract.cancellation_noticed`
event; a withdrawal or a renewal clears the notice, a churn keeps it on record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.contracts.factories import make_account, make_contract, outbox_rows
from tests.support.api import Harness

R = "2027-03-15"


async def notice(
    api: Harness, contract: dict[str, Any], received_on: str, **body: Any
) -> dict[str, Any]:
    response = await api.client.post(
        f"/v1/contracts/{contract['id']}/cancellation-notice",
        json={"received_on": received_on} | body,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("notice_period_days", "received_on", "late"),
    [
        pytest.param(30, "2027-02-13", False, id="on-the-deadline"),
        pytest.param(30, "2027-02-14", True, id="a-day-after-the-deadline"),
        pytest.param(0, R, False, id="no-notice-period-on-r"),
        pytest.param(0, "2027-03-16", True, id="no-notice-period-after-r"),
    ],
)
async def test_a_notice_after_the_deadline_is_recorded_late(
    api: Harness, notice_period_days: int, received_on: str, late: bool
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], notice_period_days=notice_period_days)

    answer = await notice(api, contract, received_on, reason="price")

    expected = {"received_on": received_on, "reason": "price", "late": late}
    assert answer["cancellation_notice"] == expected
    read = await api.client.get(f"/v1/contracts/{contract['id']}")
    assert read.json()["cancellation_notice"] == expected
    event = [row for row in await outbox_rows(api) if row.stream == "lifecycle"][-1].event
    assert event["type"] == "contract.cancellation_noticed"
    assert event["data"]["cancellation_notice"] == expected


async def test_a_late_notice_sent_as_an_event_is_recorded_late(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], notice_period_days=30)
    response = await api.client.post(
        "/v1/events",
        json={
            "specversion": "1.0",
            "id": "late-notice-1",
            "source": "urn:test:crm",
            "type": "contract.cancellation_noticed",
            "time": "2027-02-20T09:00:00Z",
            "data": {"id": contract["id"], "received_on": "2027-02-20"},
        },
    )
    assert response.status_code == 202, response.text
    read = await api.client.get(f"/v1/contracts/{contract['id']}")
    assert read.json()["cancellation_notice"]["late"] is True


async def test_withdrawal_and_renewal_clear_a_late_notice_and_a_churn_keeps_it(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], notice_period_days=30)
    path = f"/v1/contracts/{contract['id']}"

    await notice(api, contract, "2027-03-01")
    withdrawn = await api.client.delete(f"{path}/cancellation-notice")
    assert withdrawn.json()["cancellation_notice"] is None
    in_time = await notice(api, contract, "2027-01-10")
    assert in_time["cancellation_notice"]["late"] is False
    await api.client.delete(f"{path}/cancellation-notice")

    await notice(api, contract, "2027-03-01")
    renewed = await api.client.post(f"{path}/renew", json={"end_date": "2028-03-15", "arr": "1"})
    assert renewed.json()["cancellation_notice"] is None
    again = await notice(api, contract, "2028-03-01")  # the new term's deadline: 2028-02-14
    assert again["cancellation_notice"]["late"] is True

    churned = await api.client.post(f"{path}/churn", json={"reason": "price"})
    assert churned.json()["cancellation_notice"] == {
        "received_on": "2028-03-01",
        "reason": "other",
        "late": True,
    }
