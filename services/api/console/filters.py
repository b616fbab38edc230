"""The radar's filters, read from the query string of its GET form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

from services.api.console.session import Refused
from shared.domain.reports.forecast import ForecastFilters
from shared.rules.types import Segment

MAX_OWNER = 320


@dataclass(frozen=True, slots=True)
class RadarFilters:
    owner: str | None = None
    partner_id: uuid.UUID | None = None
    segment: Segment | None = None

    @property
    def forecast(self) -> ForecastFilters:
        return ForecastFilters(owner=self.owner, partner_id=self.partner_id, segment=self.segment)

    def query(self) -> str:
        """The filters as a query string (with its `?`), blank when there are none."""
        pairs = [
            (name, str(value))
            for name, value in (
                ("owner", self.owner),
                ("partner", self.partner_id),
                ("segment", self.segment.value if self.segment else None),
            )
            if value is not None
        ]
        return f"?{urlencode(pairs)}" if pairs else ""


def radar_filters(request: Request) -> RadarFilters:
    """A blank choice is no filter; anything else that is not a value the API takes is
    refused, as the API would."""
    params = request.query_params
    owner = (params.get("owner") or "").strip() or None
    partner = (params.get("partner") or "").strip() or None
    segment = (params.get("segment") or "").strip() or None
    if owner is not None and len(owner) > MAX_OWNER:
        raise Refused(422, "Invalid filter", f"owner: at most {MAX_OWNER} characters")
    try:
        partner_id = uuid.UUID(partner) if partner else None
    except ValueError:
        raise Refused(422, "Invalid filter", "partner: not a partner id") from None
    try:
        chosen = Segment(segment) if segment else None
    except ValueError:
        raise Refused(422, "Invalid filter", f"segment: not one of {', '.join(Segment)}") from None
    return RadarFilters(owner=owner, partner_id=partner_id, segment=chosen)
