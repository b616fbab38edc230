"""crm_task_syncs and crm_poll_cursors: engine tasks mirrored into CRMs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_poll_cursors",
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("polled_until", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm", name=op.f("pk_crm_poll_cursors")),
    )
    op.create_table(
        "crm_task_syncs",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("crm_object_id", sa.String(length=100), nullable=True),
        sa.Column("wanted_version", sa.Integer(), nullable=False),
        sa.Column("synced_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", shared.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", shared.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_in_crm_at", shared.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_crm_task_syncs_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_task_syncs")),
        sa.UniqueConstraint("task_id", "crm", name=op.f("uq_crm_task_syncs_task_id_crm")),
    )
    with op.batch_alter_table("crm_task_syncs", schema=None) as batch_op:
        batch_op.create_index("ix_crm_task_syncs_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_crm_task_syncs_object", ["crm", "crm_object_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_task_syncs", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_task_syncs_object")
        batch_op.drop_index("ix_crm_task_syncs_due")

    op.drop_table("crm_task_syncs")
    op.drop_table("crm_poll_cursors")
