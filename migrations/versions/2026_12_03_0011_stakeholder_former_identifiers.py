"""stakeholders.former_identifiers: the names and e-mails a person had before

Task texts and notifications written before a person's name or e-mail changed still
carry the old values; an erasure must find and redact those too. Updates made before
this column existed are not recoverable: their old values were never stored.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "former_identifiers",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("stakeholders", schema=None) as batch_op:
        batch_op.drop_column("former_identifiers")
