from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.domain.contracts.derived import ContractDates, date_problems
from shared.domain.schemas import Amount, Day, ExternalIds, InputModel, OutputModel, UpdateModel
from shared.enums import Channel, ChurnReason, ContractStatus, HealthBand
from shared.rules.types import Stage

Seats = Annotated[int, Field(ge=0, le=1_000_000_000, description="Licensed seats")]
NoticeDays = Annotated[
    int,
    Field(ge=0, le=3650, description="Days before R by which a cancellation notice is due"),
]


class ContractCreate(InputModel):
    """Creates the contract with term 1 (`start_date` to `end_date` at `arr`).

    Rules: `end_date` after `start_date`; `pilot_start` and `pilot_end` together, in
    order; `trial_end` before `end_date`. `partner_id` omitted takes the account's
    partner, `null` makes the contract direct.
    """

    account_id: uuid.UUID
    start_date: Day
    end_date: Day = Field(description="R: the renewal date of term 1; after start_date")
    arr: Amount
    seats: Seats | None = None
    pilot_start: Day | None = None
    pilot_end: Day | None = Field(default=None, description="With pilot_start, and after it")
    trial_end: Day | None = Field(default=None, description="Before end_date")
    partner_id: uuid.UUID | None = Field(
        default=None, description="Omitted: the account's partner; null: direct"
    )
    auto_renew: bool = False
    notice_period_days: NoticeDays = 0
    external_ids: ExternalIds = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        """Each broken rule is reported under the field to fix, not under the body."""
        problems = date_problems(
            ContractDates(
                start_date=self.start_date,
                end_date=self.end_date,
                first_end=self.end_date,
                current_start=self.start_date,
                pilot_start=self.pilot_start,
                pilot_end=self.pilot_end,
                trial_end=self.trial_end,
            )
        )
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("date_order", problem.message),
                        loc=(problem.field,),
                        input=getattr(self, problem.field),
                    )
                    for problem in problems
                ],
            )
        return self


class ContractUpdate(UpdateModel):
    """`end_date` and `arr` change the current term; `start_date` changes term 1's start.
    The dates after the change must obey the creation rules (`end_date` after the
    current term's start)."""

    nullable: ClassVar[frozenset[str]] = frozenset(
        {"pilot_start", "pilot_end", "trial_end", "seats", "partner_id"}
    )

    start_date: Day | None = None
    end_date: Day | None = None
    pilot_start: Day | None = None
    pilot_end: Day | None = None
    trial_end: Day | None = None
    arr: Amount | None = None
    seats: Seats | None = None
    auto_renew: bool | None = None
    notice_period_days: NoticeDays | None = None
    partner_id: uuid.UUID | None = None
    external_ids: ExternalIds | None = None


class ContractRenewal(InputModel):
    """Starts term n+1 at the current R, also when recorded after R."""

    end_date: Day = Field(description="The new R; after the current one")
    arr: Amount
    seats: Seats | None = Field(default=None, description="Omitted: unchanged")


class ContractChurn(InputModel):
    reason: ChurnReason
    churned_on: Day | None = Field(default=None, description="Omitted: today")


class CancellationNotice(InputModel):
    received_on: Day
    reason: ChurnReason = ChurnReason.OTHER


class CancellationWithdrawal(InputModel):
    """No fields: the path names the contract. A model all the same, so every contract
    operation takes (ids, body) and `POST /v1/events` can apply them alike."""


class CancellationNoticeRead(OutputModel):
    received_on: date
    reason: ChurnReason
    late: bool = Field(
        description="Received after R - notice_period_days (after R when there is no notice "
        "period): the contract is not churned at R but renews by its terms, unless the churn "
        "is recorded or the notice withdrawn"
    )


class TermRead(OutputModel):
    number: int
    start: date
    end: date
    arr: str


class HealthSignalRead(OutputModel):
    signal: str
    points: int


class HealthRead(OutputModel):
    score: int
    band: HealthBand
    signals: list[HealthSignalRead]


class ContractRead(OutputModel):
    id: uuid.UUID
    account_id: uuid.UUID
    partner_id: uuid.UUID | None
    channel: Channel
    start_date: date
    end_date: date
    pilot_start: date | None
    pilot_end: date | None
    trial_end: date | None
    arr: str
    seats: int | None
    auto_renew: bool
    notice_period_days: int
    status: ContractStatus
    churned_on: date | None
    churn_reason: ChurnReason | None
    cancellation_notice: CancellationNoticeRead | None
    stage: Stage
    term: int
    terms: list[TermRead]
    health: HealthRead
    external_ids: dict[str, str]
    created_at: datetime
    updated_at: datetime


class ContractPage(OutputModel):
    items: list[ContractRead]
    next_cursor: str | None
