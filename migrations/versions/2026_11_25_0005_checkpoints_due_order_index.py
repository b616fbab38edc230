"""checkpoints: due index in the sweep's order

The sweep claims due checkpoints `ORDER BY opens_on, id LIMIT n`. With an index on
(status, opens_on) alone, every batch had to read, join and sort all of the day's
remaining due rows to return its first n, so a day's sweep read the day's rows once per
batch. With `id` in the index the scan returns rows in the sweep's order and stops
after n. It replaces the old index, which is its prefix.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkpoints_status_opens_on_id", ["status", "opens_on", "id"], unique=False
        )
        batch_op.drop_index("ix_checkpoints_status_opens_on")


def downgrade() -> None:
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkpoints_status_opens_on", ["status", "opens_on"], unique=False
        )
        batch_op.drop_index("ix_checkpoints_status_opens_on_id")
