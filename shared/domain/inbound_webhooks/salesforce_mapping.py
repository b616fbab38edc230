"""Which Salesforce field sets which field here, and how Salesforce's values convert.

An Outbound Message carries the fields chosen when it was defined, so the map names
fields by their API names. The defaults are Salesforce's standard fields where it has
one (`Name`, `AccountId`, `Email`, `CloseDate`, `Amount`, `Type`) and custom fields an
org creates for the rest: `Fiscal_Year_Start_Month__c`, `Owner_Email__c` (a formula
`Owner.Email`: a message carries no related record's fields), `Renewal_Role__c` (a
picklist) and `Departed__c` (a checkbox). `RENEWALS_SALESFORCE_FIELD_MAP` adds to or
overrides them per object type (a field mapped to null is ignored),
`RENEWALS_SALESFORCE_ROLE_MAP` the picklist values, `RENEWALS_SALESFORCE_RENEWAL_VALUES`
the values of the `renewal` field that make an opportunity a renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.config import Settings
from shared.domain.inbound_webhooks.hubspot_mapping import ROLE_PRIORITY
from shared.enums import StakeholderRole

AccountField = Literal["name", "fiscal_year_start_month", "owner"]
ContactField = Literal["account", "role", "email", "name", "departed"]
OpportunityField = Literal["end_date", "arr", "renewal"]
ObjectType = Literal["account", "contact", "opportunity"]

DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "account": {
        "Name": "name",
        "Fiscal_Year_Start_Month__c": "fiscal_year_start_month",
        "Owner_Email__c": "owner",
    },
    "contact": {
        "AccountId": "account",
        "Renewal_Role__c": "role",
        "Email": "email",
        "Name": "name",
        "Departed__c": "departed",
    },
    "opportunity": {"CloseDate": "end_date", "Amount": "arr", "Type": "renewal"},
}

# The values of Salesforce's contact role picklist (on opportunity and account contact
# roles), which a `Renewal_Role__c` picklist usually copies, onto ours; our own role
# names are accepted as well.
DEFAULT_ROLES: dict[str, StakeholderRole] = {
    "EXECUTIVE SPONSOR": StakeholderRole.EXECUTIVE_SPONSOR,
    "ECONOMIC BUYER": StakeholderRole.BUDGET_HOLDER,
    "ECONOMIC DECISION MAKER": StakeholderRole.BUDGET_HOLDER,
    "DECISION MAKER": StakeholderRole.BUSINESS_OWNER,
    "BUSINESS OWNER": StakeholderRole.BUSINESS_OWNER,
    "CHAMPION": StakeholderRole.CHAMPION,
    "BUSINESS USER": StakeholderRole.USER,
    "EVALUATOR": StakeholderRole.OTHER,
    "INFLUENCER": StakeholderRole.OTHER,
    "TECHNICAL BUYER": StakeholderRole.OTHER,
    "OTHER": StakeholderRole.OTHER,
}

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


class FieldMap(BaseModel):
    """Unknown object types and target fields fail at start-up, not on a message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: dict[str, AccountField | None]
    contact: dict[str, ContactField | None]
    opportunity: dict[str, OpportunityField | None]


@dataclass(frozen=True, slots=True)
class SalesforceMapping:
    fields: FieldMap
    roles: dict[str, StakeholderRole]
    renewal_values: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceMapping:
        overrides = {kind.lower(): names for kind, names in settings.salesforce_field_map.items()}
        merged: dict[str, dict[str, str | None]] = {
            kind: {**DEFAULT_FIELDS.get(kind, {}), **overrides.get(kind, {})}
            for kind in DEFAULT_FIELDS.keys() | overrides.keys()
        }
        roles = DEFAULT_ROLES | {
            key.strip().upper(): role for key, role in settings.salesforce_role_map.items()
        }
        renewal = frozenset(value.strip().lower() for value in settings.salesforce_renewal_values)
        return cls(FieldMap.model_validate(merged), roles, renewal)

    def values(self, kind: ObjectType, fields: dict[str, str]) -> dict[str, str]:
        """The message's values by target field, for the mapped fields it carries."""
        names: dict[str, str | None] = getattr(self.fields, kind)
        return {
            target: fields[name]
            for name, target in names.items()
            if target is not None and name in fields
        }

    def source(self, kind: ObjectType, target: str) -> str | None:
        """The Salesforce field mapped onto `target`, named in reasons."""
        names: dict[str, str | None] = getattr(self.fields, kind)
        return next((name for name, mapped in names.items() if mapped == target), None)

    def role(self, value: str) -> StakeholderRole:
        """A multi-select picklist holds `;`-separated values: the riskiest role wins."""
        found = {
            self.roles.get(part.strip().upper()) or _own_role(part)
            for part in value.split(";")
            if part.strip()
        }
        for role in ROLE_PRIORITY:
            if role in found:
                return role
        raise ValueError(f"no role is mapped for {value!r} (RENEWALS_SALESFORCE_ROLE_MAP)")

    def is_renewal(self, value: str) -> bool:
        return value.strip().lower() in self.renewal_values


def _own_role(value: str) -> StakeholderRole | None:
    try:
        return StakeholderRole(value.strip().lower().replace(" ", "_"))
    except ValueError:
        return None


def month(value: str) -> int:
    """A number field sends `4.0`; a picklist or text field `April` or `Apr`."""
    text = value.strip().lower().removesuffix(".0")
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    for number, name in enumerate(_MONTHS, start=1):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ValueError(f"{value!r} is not a month")


def day(value: str) -> date:
    """Salesforce sends dates as `2027-03-31`, date-times as ISO 8601."""
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None


def amount(value: str) -> str:
    """Currency fields are doubles on the wire, which large amounts turn into `1.5E7`."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{value!r} is not an amount")
    return format(number, "f")


def flag(value: str) -> bool:
    """Checkbox fields are `true` or `false`."""
    text = value.strip().lower()
    if text not in {"true", "false"}:
        raise ValueError(f"{value!r} is not true or false")
    return text == "true"


def email(value: str) -> str | None:
    """An e-mail field; empty clears it."""
    text = value.strip()
    if not text:
        return None
    if "@" not in text:
        raise ValueError(f"{value!r} is not an e-mail address")
    return text
