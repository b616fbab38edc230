from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._columns import IdMixin, TimestampMixin


class ContractTrial(IdMixin, TimestampMixin, Base):
    """A trial of more users or modules on a running contract: when it ends without an
    order, what it unlocked is blocked, so each one gets its own `trial_ending` task."""

    __tablename__ = "contract_trials"

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
