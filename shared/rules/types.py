"""Vocabulary shared by the engine, the worker and the API.

The values are the strings stored in the database and sent in events, so they
must never be renamed.
"""

from enum import StrEnum


class Segment(StrEnum):
    ENTERPRISE = "enterprise"
    MID_MARKET = "mid_market"
    GROWTH = "growth"
    SCALE = "scale"
    SELF_SERVE = "self_serve"


class Stage(StrEnum):
    PILOT = "pilot"
    IMPLEMENTATION = "implementation"
    ADOPTION = "adoption"
    RENEWAL = "renewal"
    LAPSED = "lapsed"
    CHURNED = "churned"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class CheckpointKind(StrEnum):
    PILOT_KICKOFF = "pilot_kickoff"
    PILOT_REVIEW = "pilot_review"
    TRIAL_ENDING = "trial_ending"
    KICKOFF = "kickoff"
    IMPLEMENTATION_CHECK = "implementation_check"
    IMPLEMENTATION_FOLLOWUP = "implementation_followup"
    ADOPTION_REVIEW = "adoption_review"
    MID_TERM_REVIEW = "mid_term_review"
    ANNIVERSARY_REVIEW = "anniversary_review"
    ONSITE_VISIT = "onsite_visit"
    BUDGET_CONFIRMATION = "budget_confirmation"
    RENEWAL_OUTREACH = "renewal_outreach"
    NOTICE_DEADLINE = "notice_deadline"
    RENEWAL_DUE = "renewal_due"
    RENEWAL_OVERDUE = "renewal_overdue"
    AUTO_RENEWAL = "auto_renewal"
    WINBACK = "winback"
    AUTO_RENEWAL_CONFIRMATION = "auto_renewal_confirmation"
    RENEWAL_WINDOW = "renewal_window"
    RENEWAL_NEAR = "renewal_near"


MARKER_KINDS = frozenset({CheckpointKind.RENEWAL_WINDOW, CheckpointKind.RENEWAL_NEAR})
"""Plan rows that open no task: they only bring a day to the engine (R - 90 days, where
a red contract escalates; R - 60 days, where outreach becomes overdue and open tasks
move up a step), through the scheduler's indexed sweep. Nobody has to act on them, so
views of the plan as work (the checkpoint list, the capacity report) leave them out."""
