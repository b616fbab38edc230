"""Stakeholder roles, and which of them are key (DESIGN §3 "Stakeholder").

The values are the strings stored in the database and sent in events, so they must
never be renamed.
"""

from enum import StrEnum


class StakeholderRole(StrEnum):
    BUSINESS_OWNER = "business_owner"
    CHAMPION = "champion"
    EXECUTIVE_SPONSOR = "executive_sponsor"
    USER = "user"
    OTHER = "other"
    BUDGET_HOLDER = "budget_holder"
    """Approves the customer's budget: named in budget tasks, but not a key role (the
    renewal does not depend on them the way it depends on its owner and champions)."""


KEY_ROLES = frozenset(
    {StakeholderRole.BUSINESS_OWNER, StakeholderRole.CHAMPION, StakeholderRole.EXECUTIVE_SPONSOR}
)
"""The people a renewal depends on: one of them leaving, or moving to a role outside
these, is a key stakeholder change."""
