from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utcnow
from shared.db.base import Base
from shared.db.types import UTCDateTime
from shared.models._columns import IdMixin


class ContractForecast(IdMixin, Base):
    """The renewal forecast of one contract term (`shared/rules/forecast.py`).

    One row per (contract, term): a renewal leaves the old term's row behind as
    `renewed`, so the forecast report finds the renewals already won in the month they
    fall due. `set_by` is `engine` or the name of the API key that overrode it."""

    __tablename__ = "contract_forecasts"
    __table_args__ = (UniqueConstraint("contract_id", "term"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"))
    term: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    expected_arr_minor: Mapped[int] = mapped_column(BigInteger)
    set_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
