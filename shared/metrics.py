"""Prometheus metrics, defined once per process. Labels never carry ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

OUTBOX_BACKLOG = Gauge(
    "renewals_outbox_backlog", "Outbox rows not yet published to Kafka (set by the relay)"
)
OUTBOX_OLDEST_AGE = Gauge(
    "renewals_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet published to Kafka, 0 when none (set by the relay)",
)

EVENTS_PROCESSED = Counter(
    "renewals_events_processed_total",
    "Lifecycle events the worker finished with, counted once their transaction committed"
    " (outcome: applied, duplicate, dead_lettered; type 'unknown' for unparseable ones)",
    ["type", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "renewals_webhook_deliveries_total",
    "Outbound webhook attempts by what became of the delivery (outcome: delivered, retried,"
    " failed, disabled)",
    ["outcome"],
)
CRM_SYNCS = Counter(
    "renewals_crm_sync_total",
    "Pushes of engine tasks to a CRM by what became of the sync (outcome: synced, retried, failed)",
    ["crm", "outcome"],
)
DEAD_LETTERS = Counter(
    "renewals_dead_letters_total",
    "Poison events recorded as dead letters (and, in distributed mode, sent to <topic>.dlq)",
)
TASKS_CREATED = Counter(
    "renewals_tasks_created_total",
    "Tasks the engine created, counted once their transaction committed",
    ["kind"],
)
SCHEDULER_SWEEP = Histogram(
    "renewals_scheduler_sweep_seconds",
    "Time one scheduler sweep took (open due checkpoints, auto-renew, churn at R)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
