"""tasks: version for optimistic concurrency

The worker reads a batch's tasks when the batch starts and may change them later in
the batch; a user may close one of them meanwhile. Every update now checks and bumps
`version`, so the later writer of a stale row fails (and the worker redoes its batch
from fresh reads) instead of overwriting the other's change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("version")
