"""trustworthy tasks: unknown fiscal years, late notices, overdue sweeps, add-on trials

- `accounts.fiscal_year_start_month` becomes nullable: an unknown fiscal year is a
  question for the account manager, not January. Existing rows keep their value.
- `contracts.cancellation_notice_late`: a notice received after the notice deadline
  does not stop the renewal.
- `tasks.overdue_noted_on` with a partial index on the open, unnoted tasks' due dates:
  the sweep finds the tasks that just passed 14 days overdue without reading the others.
- `contract_trials`: trials of more users or modules on a running contract.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNNOTED_OPEN = sa.text("status = 'open' AND overdue_noted_on IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.alter_column("fiscal_year_start_month", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cancellation_notice_late", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_noted_on", sa.Date(), nullable=True))
    op.create_index(
        "ix_tasks_overdue_unnoted_due_date",
        "tasks",
        ["due_date"],
        unique=False,
        postgresql_where=UNNOTED_OPEN,
        sqlite_where=UNNOTED_OPEN,
    )
    op.create_table(
        "contract_trials",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_trials_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_trials")),
    )
    with op.batch_alter_table("contract_trials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_trials_contract_id"), ["contract_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contract_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_trials_contract_id"))
    op.drop_table("contract_trials")
    op.drop_index("ix_tasks_overdue_unnoted_due_date", table_name="tasks")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("overdue_noted_on")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("cancellation_notice_late")
    op.execute(
        "UPDATE accounts SET fiscal_year_start_month = 1 WHERE fiscal_year_start_month IS NULL"
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.alter_column("fiscal_year_start_month", existing_type=sa.Integer(), nullable=False)
