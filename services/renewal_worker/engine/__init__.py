"""The pure renewal engine: no I/O, no clock; "now" is always an argument."""

from services.renewal_worker.engine.dates import (
    add_months,
    fiscal_year_start,
    renewal_outreach_due,
)
from services.renewal_worker.engine.health import (
    Health,
    HealthInput,
    HealthSignal,
    band_for,
    compute_health,
)
from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    TermPlanInput,
    plan_term,
    skipped_at_creation,
    winback_checkpoint,
)
from services.renewal_worker.engine.playbooks import TASK_KINDS, TaskContext, render_task
from services.renewal_worker.engine.priority import task_priority
from services.renewal_worker.engine.segments import segment_for
from services.renewal_worker.engine.stage import stage_for
from services.renewal_worker.engine.types import CheckpointKind, Priority, Segment, Stage

__all__ = [
    "TASK_KINDS",
    "CheckpointKind",
    "Health",
    "HealthInput",
    "HealthSignal",
    "PlannedCheckpoint",
    "Priority",
    "Segment",
    "Stage",
    "TaskContext",
    "TermPlanInput",
    "add_months",
    "band_for",
    "compute_health",
    "fiscal_year_start",
    "plan_term",
    "render_task",
    "renewal_outreach_due",
    "segment_for",
    "skipped_at_creation",
    "stage_for",
    "task_priority",
    "winback_checkpoint",
]
