"""crm_task_syncs.retry_until: when a sync that keeps failing is given up

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_task_syncs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retry_until", shared.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_task_syncs", schema=None) as batch_op:
        batch_op.drop_column("retry_until")
