"""ORM models, imported by both services and by the migrations."""

from shared.models.accounts import Account
from shared.models.api_keys import ApiKey
from shared.models.calendar_tokens import CalendarToken
from shared.models.checkpoints import Checkpoint
from shared.models.contracts import Contract, ContractTerm
from shared.models.crm_sync import CrmPollCursor, CrmTaskSync
from shared.models.event_log import EventLogEntry
from shared.models.external_refs import ExternalRef
from shared.models.forecasts import ContractForecast
from shared.models.goals import Goal
from shared.models.idempotency import IdempotencyKey
from shared.models.outbox import InboxKey, OutboxEvent
from shared.models.partners import Partner
from shared.models.stakeholders import Stakeholder
from shared.models.tasks import Task
from shared.models.trials import ContractTrial
from shared.models.usage import UsageReport
from shared.models.webhooks import WebhookDelivery, WebhookSubscription
from shared.models.worker import DeadLetter, WorkerLease

__all__ = [
    "Account",
    "ApiKey",
    "CalendarToken",
    "Checkpoint",
    "Contract",
    "ContractForecast",
    "ContractTerm",
    "ContractTrial",
    "CrmPollCursor",
    "CrmTaskSync",
    "DeadLetter",
    "EventLogEntry",
    "ExternalRef",
    "Goal",
    "IdempotencyKey",
    "InboxKey",
    "OutboxEvent",
    "Partner",
    "Stakeholder",
    "Task",
    "UsageReport",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkerLease",
]
