"""HubSpot's budget holders and unknown fiscal years: a `BUDGET_HOLDER` buying role is
our `budget_holder` (not a business owner), and a company created from HubSpot has no
fiscal year until the portal sends one."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.domain.inbound_webhooks.hubspot_mapping import HubSpotMapping
from shared.rules.roles import KEY_ROLES, StakeholderRole
from tests.api.inbound_webhooks.test_hubspot_mapping import account, deliver, event, stakeholders
from tests.support.api import Harness


@pytest.mark.parametrize(
    ("value", "role"),
    [
        ("BUDGET_HOLDER", StakeholderRole.BUDGET_HOLDER),
        ("END_USER;BUDGET_HOLDER", StakeholderRole.BUDGET_HOLDER),
        ("BUDGET_HOLDER;DECISION_MAKER", StakeholderRole.BUSINESS_OWNER),
        ("budget_holder", StakeholderRole.BUDGET_HOLDER),
    ],
)
def test_budget_holder_is_its_own_role_after_the_key_roles(
    value: str, role: StakeholderRole
) -> None:
    mapping = HubSpotMapping.from_settings(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    assert mapping.role(value) is role
    assert StakeholderRole.BUDGET_HOLDER not in KEY_ROLES


async def test_a_hubspot_company_has_no_fiscal_year_until_one_is_sent(hooks: Harness) -> None:
    await deliver(hooks, event("company.creation", 7))
    assert (await account(hooks, 7))["fiscal_year_start_month"] is None

    await deliver(
        hooks,
        event("contact.propertyChange", 51, "associatedcompanyid", "7"),
        event("contact.propertyChange", 51, "hs_buying_role", "BUDGET_HOLDER"),
        event("company.propertyChange", 7, "fiscal_year_start_month", "April"),
    )
    initech = await account(hooks, 7)
    assert initech["fiscal_year_start_month"] == 4
    (person,) = await stakeholders(hooks, initech["id"])
    assert person["role"] == "budget_holder"
