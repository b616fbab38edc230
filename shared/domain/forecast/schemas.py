from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from shared.domain.schemas import Amount, InputModel, Notes, OutputModel
from shared.rules.forecast import ForecastCategory


class ForecastOverride(InputModel):
    """A person's forecast for the contract's current term; it stands until cleared or
    until the term is renewed."""

    category: ForecastCategory
    expected_arr: Amount | None = Field(
        default=None,
        description="The ARR expected after the renewal; omitted: 0 for `lost`, otherwise "
        "what the engine expects (the latest recorded expansion ARR, else the term's ARR)",
    )
    note: Notes | None = Field(default=None, description="Why, at most 5,000 characters")


class ForecastRead(OutputModel):
    """A term's forecast. `set_by` is `engine` or the name of the API key that
    overrode it; `overridden` says the engine leaves it alone."""

    contract_id: uuid.UUID
    term: int
    renewal_date: date
    arr: str = Field(description="The term's ARR, what is up for renewal")
    category: ForecastCategory
    expected_arr: str
    set_by: str
    note: str | None
    overridden: bool
    updated_at: datetime | None = Field(
        description="Null while the engine's proposal has not been stored yet (a contract "
        "from before forecasts, until it next changes)"
    )
