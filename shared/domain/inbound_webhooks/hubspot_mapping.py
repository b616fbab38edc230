"""Which HubSpot property sets which field here, and how HubSpot's values convert.

The defaults below are HubSpot's standard property names where HubSpot has one
(`name`, `hubspot_owner_id`, `associatedcompanyid`, `hs_buying_role`, `email`,
`amount`) and plain names for the custom properties a portal has to create
(`fiscal_year_start_month`, `departed`, `renewal_date`). Settings add to or override
them per object type: `RENEWALS_HUBSPOT_PROPERTY_MAP` (a property mapped to null is
ignored), `RENEWALS_HUBSPOT_ROLE_MAP` and `RENEWALS_HUBSPOT_OWNER_EMAILS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.config import Settings
from shared.enums import StakeholderRole

CompanyField = Literal["name", "fiscal_year_start_month", "owner"]
ContactField = Literal["company", "role", "email", "name", "departed"]
DealField = Literal["end_date", "arr"]
ObjectType = Literal["company", "contact", "deal"]

DEFAULT_PROPERTIES: dict[str, dict[str, str]] = {
    "company": {
        "name": "name",
        "fiscal_year_start_month": "fiscal_year_start_month",
        "hubspot_owner_id": "owner",
    },
    "contact": {
        "associatedcompanyid": "company",
        "hs_buying_role": "role",
        "email": "email",
        "departed": "departed",
    },
    "deal": {"renewal_date": "end_date", "amount": "arr"},
}

# HubSpot's buying roles (`hs_buying_role`, a multiple checkbox) onto ours.
DEFAULT_ROLES: dict[str, StakeholderRole] = {
    "EXECUTIVE_SPONSOR": StakeholderRole.EXECUTIVE_SPONSOR,
    "BUDGET_HOLDER": StakeholderRole.BUDGET_HOLDER,
    "DECISION_MAKER": StakeholderRole.BUSINESS_OWNER,
    "CHAMPION": StakeholderRole.CHAMPION,
    "END_USER": StakeholderRole.USER,
    "INFLUENCER": StakeholderRole.OTHER,
    "BLOCKER": StakeholderRole.OTHER,
    "LEGAL_AND_COMPLIANCE": StakeholderRole.OTHER,
    "OTHER": StakeholderRole.OTHER,
}

# A contact with several buying roles takes the one whose departure risks most; the
# budget holder, not a key role, comes after the key roles.
ROLE_PRIORITY = (
    StakeholderRole.EXECUTIVE_SPONSOR,
    StakeholderRole.BUSINESS_OWNER,
    StakeholderRole.CHAMPION,
    StakeholderRole.BUDGET_HOLDER,
    StakeholderRole.USER,
    StakeholderRole.OTHER,
)

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_EPOCH_MS = re.compile(r"-?[0-9]{1,15}")


class PropertyMap(BaseModel):
    """Unknown object types and target fields fail at start-up, not on a delivery."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    company: dict[str, CompanyField | None]
    contact: dict[str, ContactField | None]
    deal: dict[str, DealField | None]


@dataclass(frozen=True, slots=True)
class HubSpotMapping:
    properties: PropertyMap
    roles: dict[str, StakeholderRole]
    owners: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> HubSpotMapping:
        overrides = settings.hubspot_property_map
        merged: dict[str, dict[str, str | None]] = {
            kind: {**DEFAULT_PROPERTIES.get(kind, {}), **overrides.get(kind, {})}
            for kind in DEFAULT_PROPERTIES.keys() | overrides.keys()
        }
        roles = DEFAULT_ROLES | {k.upper(): v for k, v in settings.hubspot_role_map.items()}
        return cls(PropertyMap.model_validate(merged), roles, dict(settings.hubspot_owner_emails))

    def field(self, kind: ObjectType, name: str) -> str | None:
        fields: dict[str, str | None] = getattr(self.properties, kind)
        return fields.get(name)

    def role(self, value: str) -> StakeholderRole:
        """`hs_buying_role` holds `;`-separated values; our role names are accepted too."""
        found = {
            self.roles.get(part.upper()) or _own_role(part)
            for part in value.split(";")
            if part.strip()
        }
        for role in ROLE_PRIORITY:
            if role in found:
                return role
        raise ValueError(f"no role is mapped for {value!r}")

    def owner(self, value: str) -> str | None:
        """An owner id from the owner map, or an e-mail as is; empty clears the owner."""
        if not value:
            return None
        if "@" in value:
            return value
        if value in self.owners:
            return self.owners[value]
        raise ValueError(f"owner {value!r} has no e-mail in RENEWALS_HUBSPOT_OWNER_EMAILS")


def _own_role(value: str) -> StakeholderRole | None:
    try:
        return StakeholderRole(value.strip().lower())
    except ValueError:
        return None


def month(value: str) -> int:
    """1-12, or an English month name or its first three letters."""
    text = value.strip().lower()
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    for number, name in enumerate(_MONTHS, start=1):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ValueError(f"{value!r} is not a month")


def day(value: str) -> date:
    """HubSpot sends date properties as epoch milliseconds at midnight UTC; ISO dates and
    timestamps are accepted as well."""
    text = value.strip()
    try:
        if _EPOCH_MS.fullmatch(text):
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        return date.fromisoformat(text[:10])
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{value!r} is not a date") from None


def flag(value: str) -> bool:
    try:
        return _FLAGS[value.strip().lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not true or false") from None
