"""Every secret the database holds sealed, and the rotation that re-seals them all.

A rotation re-seals in batches of its own transactions: the old key still opens what a
crash leaves unconverted, so running it again finishes the job. Columns that hold a
sealed secret are listed in `SEALED`; a table that gains one is added there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from shared.db import Database
from shared.models import WebhookSubscription
from shared.secret_box import SecretBox

SEALED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (WebhookSubscription, ("secret", "previous_secret")),
)


async def reseal_all(
    db: Database,
    box: SecretBox,
    *,
    batch_size: int = 500,
    progress: Callable[[str, int], None],
) -> int:
    """Re-seals every secret with the box's first key; returns how many. `progress`
    hears each table's running count after each batch. `UnreadableSecret` stops the
    rotation when a secret opens with no key (nothing of that batch is written)."""
    total = 0
    for model, columns in SEALED:
        done = 0
        after: uuid.UUID | None = None
        while True:
            async with db.transaction() as session:
                query = select(model.id, *(getattr(model, c) for c in columns))
                if after is not None:
                    query = query.where(model.id > after)
                rows = (await session.execute(query.order_by(model.id).limit(batch_size))).all()
                for row in rows:
                    values = {
                        column: box.reseal(value)
                        for column, value in zip(columns, row[1:], strict=True)
                        if value is not None
                    }
                    await session.execute(
                        update(model)
                        .where(model.id == row.id)
                        .values(values)
                        .execution_options(synchronize_session=False)
                    )
                    done += len(values)
            if not rows:
                break
            after = rows[-1].id
            progress(model.__tablename__, done)
        total += done
    return total
