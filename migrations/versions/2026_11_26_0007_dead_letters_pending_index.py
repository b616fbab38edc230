"""dead_letters: partial index on event_id where not replayed

Every batch of the worker asks which of its events are pending dead letters
(`event_id IN (…) AND replayed_at IS NULL`); without an index that read every dead
letter ever recorded, once per batch.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("replayed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_dead_letters_pending_event_id",
        "dead_letters",
        ["event_id"],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_dead_letters_pending_event_id", table_name="dead_letters")
