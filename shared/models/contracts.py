from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db.base import Base
from shared.db.types import JSONDocument
from shared.models._columns import IdMixin, TimestampMixin


class Contract(IdMixin, TimestampMixin, Base):
    """A contract and its current term.

    `end_date` (R) and `arr_minor` copy the current term's row so renewal windows and
    ARR sums are plain indexed queries; only the contract service writes either.
    """

    __tablename__ = "contracts"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id"), index=True
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    pilot_start: Mapped[date | None] = mapped_column(Date)
    pilot_end: Mapped[date | None] = mapped_column(Date)
    trial_end: Mapped[date | None] = mapped_column(Date)
    arr_minor: Mapped[int] = mapped_column(BigInteger)
    seats: Mapped[int | None] = mapped_column(Integer)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_period_days: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    churned_on: Mapped[date | None] = mapped_column(Date)
    churn_reason: Mapped[str | None] = mapped_column(String(32))
    cancellation_notice_on: Mapped[date | None] = mapped_column(Date)
    cancellation_reason: Mapped[str | None] = mapped_column(String(32))
    cancellation_notice_late: Mapped[bool] = mapped_column(Boolean, default=False)
    health_score: Mapped[int] = mapped_column(Integer, default=100)
    health_band: Mapped[str] = mapped_column(String(8), default="green", index=True)
    health_signals: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)

    terms: Mapped[list[ContractTerm]] = relationship(
        lazy="raise", order_by="ContractTerm.number", cascade="all, delete-orphan"
    )


class ContractTerm(IdMixin, Base):
    __tablename__ = "contract_terms"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"))
    number: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    arr_minor: Mapped[int] = mapped_column(BigInteger)
