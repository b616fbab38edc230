"""Vocabularies of the domain (DESIGN §3) used by the API, the models and the worker."""

from __future__ import annotations

from enum import StrEnum

# Defined with the rule that names the key roles; re-exported for the models and schemas.
from shared.rules.roles import StakeholderRole as StakeholderRole


class PartnerTier(StrEnum):
    SILVER = "silver"
    GOLD = "gold"


class StakeholderStatus(StrEnum):
    ACTIVE = "active"
    DEPARTED = "departed"


class GoalStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    MISSED = "missed"
    ACHIEVED = "achieved"


class ContractStatus(StrEnum):
    ACTIVE = "active"
    CHURNED = "churned"


class ChurnReason(StrEnum):
    PRICE = "price"
    PRODUCT_FIT = "product_fit"
    COMPETITOR = "competitor"
    NO_ADOPTION = "no_adoption"
    STAKEHOLDER_LEFT = "stakeholder_left"
    BUDGET = "budget"
    BUSINESS_CLOSED = "business_closed"
    OTHER = "other"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"
    AUTO_CLOSED = "auto_closed"


class CheckpointStatus(StrEnum):
    PLANNED = "planned"
    OPENED = "opened"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Channel(StrEnum):
    PARTNER = "partner"
    DIRECT = "direct"


class HealthBand(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
