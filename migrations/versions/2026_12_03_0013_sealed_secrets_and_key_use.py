"""Webhook signing secrets sealed at rest; api_keys.last_used_at

The secrets grow from 50 characters in clear to about 170 sealed. Secrets stored in
clear before this revision are sealed here with the first key of `RENEWALS_SECRET_KEY`
(or a local SQLite database's key file); a database that holds none needs no key to
migrate. A downgrade opens them again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.types
from shared.config import Settings
from shared.secret_box import SecretBox

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBSCRIPTIONS = sa.table(
    "webhook_subscriptions",
    sa.column("id", sa.Uuid),
    sa.column("secret", sa.String),
    sa.column("previous_secret", sa.String),
)


def _box() -> SecretBox:
    url = op.get_bind().engine.url.render_as_string(hide_password=False)
    return Settings(database_url=url).secret_box()


def _convert(change: Callable[[SecretBox, str], str]) -> None:
    """Applies `change` to every stored secret; the box is only built when one exists."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.secret, _SUBSCRIPTIONS.c.previous_secret)
    ).all()
    if not rows:
        return
    box = _box()
    for row in rows:
        bind.execute(
            _SUBSCRIPTIONS.update()
            .where(_SUBSCRIPTIONS.c.id == row.id)
            .values(
                secret=change(box, row.secret),
                previous_secret=None
                if row.previous_secret is None
                else change(box, row.previous_secret),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_used_at", shared.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        for column in ("secret", "previous_secret"):
            batch_op.alter_column(
                column, existing_type=sa.String(length=100), type_=sa.String(length=500)
            )
    _convert(SecretBox.seal)


def downgrade() -> None:
    _convert(SecretBox.open)
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        for column in ("secret", "previous_secret"):
            batch_op.alter_column(
                column, existing_type=sa.String(length=500), type_=sa.String(length=100)
            )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
