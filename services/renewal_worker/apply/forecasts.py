"""The forecast follows health: a contract whose health band the worker changed gets its
forecast refreshed (red → at risk, yellow → probable, green → commit or probable), in
the batch's transaction, after every event of the batch, in contract id order.

Both paths of a batch note the band changes as they go (the set-wise one in its
`Changes`, the per-event one on the session) and refresh once at the end, so they write
the same forecasts and emit `contract.forecast_changed` in the same order. A refresh
recomputes from what is stored, so a change noted by an event whose savepoint was rolled
back refreshes nothing. Forecast refreshes lock their contracts after the batch's task
writes, the order `close_task` takes them in too (task, then contract).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply.notify import WORKER_ACTOR
from shared.domain.context import Context
from shared.domain.forecast.service import refresh_forecasts
from shared.events.types import SOURCE_WORKER

_NOTED = "renewals.worker.bands_changed"


def note_band_change(session: AsyncSession, contract_id: uuid.UUID, time: datetime) -> None:
    """Remembers, for the end of the batch, that this event changed the contract's band."""
    session.info.setdefault(_NOTED, {})[contract_id] = time


def take_noted(session: AsyncSession) -> dict[uuid.UUID, datetime]:
    noted: dict[uuid.UUID, datetime] = session.info.pop(_NOTED, {})
    return noted


async def refresh_after_bands(
    session: AsyncSession, changed: Mapping[uuid.UUID, datetime], *, currency: str
) -> None:
    """Refreshes the contracts' forecasts in one go, each as of the last event that
    changed its band."""
    if not changed:
        return
    ctx = Context(
        actor=WORKER_ACTOR, currency=currency, time=max(changed.values()), source=SOURCE_WORKER
    )
    await refresh_forecasts(session, ctx, sorted(changed), times=changed)
