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


KEY_ROLES = frozenset(
    {StakeholderRole.BUSINESS_OWNER, StakeholderRole.CHAMPION, StakeholderRole.EXECUTIVE_SPONSOR}
)
"""The people a renewal depends on: one of them leaving, or moving to a role outside
these, is a key stakeholder change."""
