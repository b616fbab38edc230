"""renewal markers for the contracts planned before they existed

The engine plans the renewal markers (`renewal_window` at R - 90 days, `renewal_near`
at R - 60 days) with every term it plans from now on; a contract planned earlier would
get them only at its next create, update or renewal — for most, at the end of the term,
too late for the rules they serve. This adds them to the current term of every contract
that is not churned and whose R has not passed, as `planned`: the first sweep after the
upgrade opens the ones whose day has already come, so their contracts' priorities and
escalations catch up at once. Rows the engine already planned are left alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from shared.db.types import UTCDateTime
from shared.ids import new_id

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKERS = {"renewal_window": 90, "renewal_near": 60}

contracts = sa.table(
    "contracts", sa.column("id", sa.Uuid), sa.column("end_date", sa.Date), sa.column("status")
)
terms = sa.table("contract_terms", sa.column("contract_id", sa.Uuid), sa.column("number"))
checkpoints = sa.table(
    "checkpoints",
    sa.column("id", sa.Uuid),
    sa.column("contract_id", sa.Uuid),
    sa.column("term"),
    sa.column("kind"),
    sa.column("ordinal"),
    sa.column("due_date", sa.Date),
    sa.column("opens_on", sa.Date),
    sa.column("status"),
    sa.column("created_at", UTCDateTime),
    sa.column("updated_at", UTCDateTime),
)


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    current_term = (
        sa.select(terms.c.contract_id, sa.func.max(terms.c.number).label("term"))
        .group_by(terms.c.contract_id)
        .subquery()
    )
    rows = bind.execute(
        sa.select(contracts.c.id, contracts.c.end_date, current_term.c.term)
        .join(current_term, current_term.c.contract_id == contracts.c.id)
        .where(contracts.c.status != "churned", contracts.c.end_date >= now.date())
    ).all()
    existing = {
        (contract_id, term, kind)
        for contract_id, term, kind in bind.execute(
            sa.select(checkpoints.c.contract_id, checkpoints.c.term, checkpoints.c.kind).where(
                checkpoints.c.kind.in_(list(MARKERS))
            )
        )
    }
    new = [
        {
            "id": new_id(),
            "contract_id": contract_id,
            "term": term,
            "kind": kind,
            "ordinal": 0,
            "due_date": end_date - timedelta(days=days),
            "opens_on": end_date - timedelta(days=days),
            "status": "planned",
            "created_at": now,
            "updated_at": now,
        }
        for contract_id, end_date, term in rows
        for kind, days in MARKERS.items()
        if (contract_id, term, kind) not in existing
    ]
    for start in range(0, len(new), 500):
        bind.execute(checkpoints.insert(), new[start : start + 500])


def downgrade() -> None:
    """The markers stay: the engine plans them too, and 0008's schema holds them."""
