"""Event types of DESIGN §4 and the stream each one travels on."""

from __future__ import annotations

from enum import StrEnum

ENGINE_CONSUMER = "engine"
"""The engine's name in the inbox: the keys of the lifecycle events it has applied."""


class Stream(StrEnum):
    """Lifecycle events feed the engine; notifications feed webhook dispatch and listeners."""

    LIFECYCLE = "lifecycle"
    NOTIFICATIONS = "notifications"


class EventType(StrEnum):
    PARTNER_CREATED = "partner.created"
    PARTNER_UPDATED = "partner.updated"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    CONTRACT_CREATED = "contract.created"
    CONTRACT_UPDATED = "contract.updated"
    CONTRACT_RENEWED = "contract.renewed"
    CONTRACT_CHURNED = "contract.churned"
    CONTRACT_CANCELLATION_NOTICED = "contract.cancellation_noticed"
    CONTRACT_CANCELLATION_WITHDRAWN = "contract.cancellation_withdrawn"
    CONTRACT_TRIAL_STARTED = "contract.trial_started"
    STAKEHOLDER_ADDED = "stakeholder.added"
    STAKEHOLDER_UPDATED = "stakeholder.updated"
    STAKEHOLDER_DEPARTED = "stakeholder.departed"
    STAKEHOLDER_ERASED = "stakeholder.erased"
    USAGE_REPORTED = "usage.reported"
    GOAL_CREATED = "goal.created"
    GOAL_UPDATED = "goal.updated"
    CHECKPOINT_DUE = "checkpoint.due"
    TASK_OVERDUE = "task.overdue"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    CONTRACT_HEALTH_CHANGED = "contract.health_changed"
    CONTRACT_FORECAST_CHANGED = "contract.forecast_changed"


API_LIFECYCLE_TYPES = frozenset(
    {
        EventType.PARTNER_CREATED,
        EventType.PARTNER_UPDATED,
        EventType.ACCOUNT_CREATED,
        EventType.ACCOUNT_UPDATED,
        EventType.CONTRACT_CREATED,
        EventType.CONTRACT_UPDATED,
        EventType.CONTRACT_RENEWED,
        EventType.CONTRACT_CHURNED,
        EventType.CONTRACT_CANCELLATION_NOTICED,
        EventType.CONTRACT_CANCELLATION_WITHDRAWN,
        EventType.CONTRACT_TRIAL_STARTED,
        EventType.STAKEHOLDER_ADDED,
        EventType.STAKEHOLDER_UPDATED,
        EventType.STAKEHOLDER_DEPARTED,
        EventType.STAKEHOLDER_ERASED,
        EventType.USAGE_REPORTED,
        EventType.GOAL_CREATED,
        EventType.GOAL_UPDATED,
    }
)
"""Types the API produces; `POST /v1/events` accepts these except `stakeholder.erased`."""

ACCEPTED_FROM_CLIENTS = API_LIFECYCLE_TYPES - {EventType.STAKEHOLDER_ERASED}

NOTIFICATION_TYPES = frozenset(
    {
        EventType.TASK_CREATED,
        EventType.TASK_UPDATED,
        EventType.CONTRACT_HEALTH_CHANGED,
        EventType.CONTRACT_FORECAST_CHANGED,
    }
)

SOURCE_API = "urn:renewals:api"
SOURCE_SCHEDULER = "urn:renewals:scheduler"
SOURCE_WORKER = "urn:renewals:worker"
SOURCE_CLI = "urn:renewals:cli"


def dataschema(entity: str, version: int = 1) -> str:
    return f"urn:renewals:{entity}:{version}"


class WebhookEventType(StrEnum):
    """The notifications an outbound webhook subscription can ask for."""

    TASK_CREATED = EventType.TASK_CREATED.value
    TASK_UPDATED = EventType.TASK_UPDATED.value
    CONTRACT_HEALTH_CHANGED = EventType.CONTRACT_HEALTH_CHANGED.value
    CONTRACT_FORECAST_CHANGED = EventType.CONTRACT_FORECAST_CHANGED.value
    CONTRACT_RENEWED = EventType.CONTRACT_RENEWED.value
    CONTRACT_CHURNED = EventType.CONTRACT_CHURNED.value


DELIVERABLE = frozenset(str(t) for t in WebhookEventType)
